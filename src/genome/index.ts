// The genome module's public interface: parse/validate organism.yaml, verify signed commits, check out, init.
//
//   const g = await checkoutGenome(repo, 'main', '/var/lib/organism/genomes')  // verified, exported, parsed
//   g.genome.functions.map(f => f.domain)
export { parseGenome, readGenome, type ParseOptions } from './parse.ts'
export { verifyGenomeCommit, verifyImported, SIGNERS_FILE, type Verified } from './verify.ts'
export { importCommit, withImported } from './mirror.ts'
export { PIN_FILE, readPin, writePin, revertedPin, type GenomePin } from './pin.ts'
export { ExportWatch, treeIdOf, type IntegrityReport } from './integrity.ts'
export { checkoutGenome, checkGenome, MIRROR_DIR, type Checkout, type CheckoutOptions, type GenomeCheck } from './checkout.ts'
export { initGenome, signedCommit, ensureSigningKey, defaultKeyPath, type InitOptions, type SignedCommitOptions } from './init.ts'
export { parseAllowedSigners, type SignerEntry } from './signers.ts'
export { signOverride, verifyOverride, OVERRIDE_NAMESPACE, type OverrideRequest, type MoveOverride, type ExpelOverride, type SignedOverride } from './override.ts'
export { genomeError } from './errors.ts'
export type { Problem } from './yaml-walk.ts'
export type { DivisionLimits, FunctionSpec, Genome, ImmunePolicy, InstanceSpec, UpdatePolicy } from './types.ts'
export { DEFAULT_IMMUNE, DEFAULT_UPDATE } from './types.ts'
