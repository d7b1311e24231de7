// One cell taking an update: a trial of each of its functions' next version beside the one that serves, the switch
// (each function restarted on the new commit, one at a time, while the router holds its requests), the bake, and the
// gate; a failed trial or gate puts the commit it ran before back and marks the new one bad in its pin.
import { logger } from '../core/log.ts'
import { readPin, revertedPin, writePin } from '../genome/index.ts'
import type { Checkout, UpdatePolicy } from '../genome/index.ts'
import { hasProcess } from '../supervisor/index.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { OrganismEvent } from '../organism/index.ts'
import { gateVerdict } from '../update/index.ts'
import type { BakeFigures } from '../update/index.ts'

const log = logger('update')

export type Phase = 'trial' | 'switching' | 'baking' | 'done' | 'refused' | 'reverted'
export interface Progress { readonly commit: string, readonly phase: Phase, readonly why?: string, readonly figures?: BakeFigures & { readonly p99Ms: number } }
export const finished = (p: Progress | null): boolean => p != null && (p.phase === 'done' || p.phase === 'refused' || p.phase === 'reverted')

export interface SwitchOptions {
  supervisor: Pick<Supervisor, 'status' | 'retarget' | 'stopFunction' | 'startFunction' | 'trial'>
  /** This cell's router's figures for a function (cumulative requests and 5xx, p99). */
  traffic: (fn: string) => { requestsTotal: number, errors: { status5xx: number }, p99Ms: number }
  /** Recent reads of a function answered 2xx here: asked again of its trial. */
  reads: (fn: string) => string[]
  pinFile: string
  note: (e: Omit<OrganismEvent, 'at'>) => void
  /** The checkout this cell runs now, and taking another as its own (record, status, immune system). */
  running: () => Checkout
  adopt: (c: Checkout) => Promise<void>
  sleep?: (ms: number) => Promise<void>
}

export interface LocalSwitch {
  /** Starts taking c (in the background); progress() tells how far it got. */
  take: (c: Checkout, policy: UpdatePolicy) => void
  progress: () => Progress | null
  /** Puts back the commit run before `commit` if that is what runs now (the gate failed elsewhere); marks it bad. */
  revert: (commit: string, why: string) => Promise<void>
  idle: () => Promise<void>
}

export function createLocalSwitch (o: SwitchOptions): LocalSwitch {
  const sleep = o.sleep ?? (async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) })
  let progress: Progress | null = null
  let previous: Checkout | null = null
  let queue = Promise.resolve()
  const short = (c: string): string => c.slice(0, 12)
  const active = (): string[] => o.supervisor.status().filter((s) => hasProcess(s.state)).map((s) => s.name)
  const figures = (fns: readonly string[]): BakeFigures & { p99Ms: number } => fns.reduce((f, fn) => {
    const t = o.traffic(fn)
    return { requests: f.requests + t.requestsTotal, errors5xx: f.errors5xx + t.errors.status5xx, p99Ms: Math.max(f.p99Ms, t.p99Ms) }
  }, { requests: 0, errors5xx: 0, p99Ms: 0 })

  /** Every function that runs here restarted on c, one at a time; the ones not healthy on it. */
  const switchTo = async (c: Checkout, fns: readonly string[]): Promise<string[]> => {
    o.supervisor.retarget(c.genome.functions, c.commit, c.dir)
    await o.adopt(c)
    const unhealthy: string[] = []
    for (const fn of fns) {
      await o.supervisor.stopFunction(fn)
      await o.supervisor.startFunction(fn)
      if (o.supervisor.status().find((s) => s.name === fn)?.state !== 'running') unhealthy.push(fn)
    }
    return unhealthy
  }

  const goBack = async (bad: Checkout, back: Checkout, why: string, switched: boolean): Promise<void> => {
    if (switched) await switchTo(back, active())
    const pin = await readPin(o.pinFile)
    if (pin != null) await writePin(o.pinFile, revertedPin(pin, back.commit, bad.commit))
    progress = { commit: bad.commit, phase: switched ? 'reverted' : 'refused', why }
    o.note({ kind: 'restart', text: `${switched ? 'reverted' : 'refused'} commit ${short(bad.commit)} (${why}); runs ${short(back.commit)}, and ${short(bad.commit)} is marked bad` })
  }

  const take = async (c: Checkout, policy: UpdatePolicy): Promise<void> => {
    const back = o.running()
    if (back.commit === c.commit) { progress = { commit: c.commit, phase: 'done' }; return }
    previous = back
    const fns = active()
    progress = { commit: c.commit, phase: 'trial' }
    for (const fn of fns) {
      const spec = c.genome.functions.find((f) => f.name === fn)
      // Each path answered 2xx on the version that serves: one that fails now is a regression, however few were asked.
      const judge = (errors: number, total: number): string | null => errors > policy.max5xx * total ? `${errors} of ${total} with 5xx or not at all` : null
      const why = spec == null ? 'it has no such function' : await o.supervisor.trial(spec, c.commit, c.dir, { host: spec.domain, paths: o.reads(fn), judge })
      if (why != null) { await goBack(c, back, `the trial of ${fn} failed: ${why}`, false); return }
    }
    progress = { commit: c.commit, phase: 'switching' }
    o.note({ kind: 'info', text: `updating to commit ${short(c.commit)}: ${fns.length} function${fns.length === 1 ? '' : 's'} passed a trial; restarting them one at a time` })
    const unhealthy = await switchTo(c, fns)
    progress = { commit: c.commit, phase: 'baking' }
    const before = figures(fns)
    if (unhealthy.length === 0) await sleep(policy.bakeMs)
    const after = figures(fns)
    const still = unhealthy.length > 0 ? unhealthy : fns.filter((fn) => o.supervisor.status().find((s) => s.name === fn)?.state !== 'running')
    const why = gateVerdict(before, after, still, policy.max5xx)
    const measured = { requests: after.requests - before.requests, errors5xx: after.errors5xx - before.errors5xx, p99Ms: after.p99Ms }
    if (why != null) {
      o.note({ kind: 'restart', text: `the gate of commit ${short(c.commit)} failed here (${why}): going back to ${short(back.commit)}` })
      await goBack(c, back, `its gate failed: ${why}`, true)
      progress = { ...progress, figures: measured }
      return
    }
    progress = { commit: c.commit, phase: 'done', figures: measured }
    o.note({ kind: 'info', text: `runs commit ${short(c.commit)} (bake: ${measured.requests} requests, ${measured.errors5xx} 5xx, p99 ${Math.round(measured.p99Ms)} ms)` })
  }

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    queue = queue.then(work).catch((err: unknown) => { log.error('update step failed', { err }) })
    return queue
  }
  return {
    take: (c, policy) => { progress = { commit: c.commit, phase: 'trial' }; void enqueue(async () => { await take(c, policy) }) },
    progress: () => progress,
    revert: async (commit, why) => {
      await enqueue(async () => {
        const back = previous
        if (back != null && o.running().commit === commit) { await goBack(o.running(), back, why, true); return }
        // Not taken here (a later wave, or it never came): marked bad all the same, so that no cell tries it again.
        const pin = await readPin(o.pinFile)
        if (pin != null && pin.bad?.includes(commit) !== true && pin.last !== commit) await writePin(o.pinFile, revertedPin(pin, pin.last, commit))
      })
    },
    idle: async () => { await queue }
  }
}
