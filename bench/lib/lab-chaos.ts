// The lab half of `npm run chaos -- --lab`: Jepsen-style runs (test/helpers/jepsen.ts) one seed after another.
import { runLabChaos } from '../../test/helpers/jepsen.ts'

export async function labChaos (minutes: number, faults: number, fixedSeed: number | null): Promise<number> {
  if (process.getuid?.() !== 0) { console.error('chaos --lab needs root: its hosts are network namespaces (the lab)'); return 2 }
  if (!(minutes > 0) || !(faults >= 1)) throw new Error('--minutes must be > 0 and --faults at least 1')
  const deadline = Date.now() + minutes * 60_000
  let seed = fixedSeed ?? Math.floor(Math.random() * 1_000_000)
  let runs = 0
  let acked = 0
  for (;;) {
    const r = await runLabChaos({ seed, faults })
    runs++
    acked += r.acknowledged
    console.log(`seed ${seed}: ${r.acknowledged} acknowledged, ${r.unacknowledged} not, lost ${r.lost.length}, split epochs ${r.splitEpochs.length}, ${(r.ms / 1000).toFixed(0)} s: ${r.faults.join('; ')}`)
    if (r.lost.length > 0 || r.splitEpochs.length > 0) {
      console.log(`BROKEN with seed ${seed}: ${JSON.stringify({ lost: r.lost.slice(0, 5), splitEpochs: r.splitEpochs })}`)
      return 1
    }
    if (fixedSeed != null || Date.now() >= deadline) break
    seed = (seed * 1103515245 + 12345) % 1_000_000
  }
  console.log(`${runs} runs, ${acked} acknowledged writes, none lost, one writer per epoch in every run`)
  return 0
}
