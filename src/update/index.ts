// Genome updates from cell to cell: whether one switches in place (pure), and the git bundle that carries a commit's
// objects over a member stream.
//
//   inPlaceProblem(running, next)          // null, or why every cell must restart for it
//   await serveBundle(stream, mirror, tmp) // the offering cell's side
//   await fetchBundle(open, commit, tmp, async (repo) => checkoutGenome(repo, commit, …))
export { inPlaceProblem } from './compare.ts'
export { serveBundle, fetchBundle, MAX_BUNDLE_BYTES } from './bundle.ts'
export { updateError } from './errors.ts'
export { planWaves, gateVerdict, MIN_ERRORS } from './rollout.ts'
export type { BakeFigures } from './rollout.ts'
