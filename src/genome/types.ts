// The shape of a parsed, validated genome (organism.yaml), shared by every module that reads it.

export interface FunctionSpec {
  /** Key in organism.yaml `functions:`; [a-z][a-z0-9-]* */
  readonly name: string
  /** Absolute path of the function's code directory inside the checked-out genome. */
  readonly codeDir: string
  /** Same, relative to the genome root, as written. */
  readonly code: string
  /** Shell command run once per genome version in codeDir before the first start; null if none. */
  readonly setup: string | null
  /** Shell command that starts the function; it must listen on $PORT. */
  readonly start: string
  /** Fixed port if the genome sets one, else null (the cell picks a free one). */
  readonly port: number | null
  /** HTTP path that answers 2xx when the function is ready. */
  readonly health: string
  /** True when the function keeps state in $DATA_DIR (it moves with the function). */
  readonly stateful: boolean
  /** Copies of the data kept: 2 (owner + one replica, the default when stateful) or 1. */
  readonly replicas: 1 | 2
  /** sync: a write's answer waits until its changes are on the replica; async: copied within about a second. */
  readonly durability: 'sync' | 'async'
  /** Fully qualified domain, lower case, no trailing dot: defaults to `<name>.<zone>`. */
  readonly domain: string
  /** Optional path prefix ("/api"); null routes the whole domain. */
  readonly pathPrefix: string | null
  /** Extra environment for the process. */
  readonly env: Readonly<Record<string, string>>
  /** What DNS answers for its domain: the owner's address, or every live cell's (any cell forwards to the owner). */
  readonly dns: 'owner' | 'all-cells'
  /** `max_data`: the most bytes of files its data dir may bring in a move (null: the sender's announced size + 10 %). */
  readonly maxDataBytes?: number | null
  /**
   * Instances on several cells, for a function without data (`stateless: true`, `instances: N` or `auto`): at
   * least `min` cells run it (fewer only while the organism has fewer cells), at most `max`. Absent: one owner.
   */
  readonly instances?: InstanceSpec | null
}

/**
 * How many cells run a stateless function: exactly N (`min` = `max`), or from `min` up to `max` as load asks; an
 * instance added for load is given up after `scaleInAfterMs` of quiet (`scale_in_after`, default 10 min).
 */
export interface InstanceSpec { readonly min: number, readonly max: number, readonly scaleInAfterMs: number }

export interface MovePolicy {
  /** Copy the data dir while the function serves; hold requests only for the changes and the start. */
  readonly live: boolean
  /** A live move whose hold would last longer is called off; the function serves at its old owner again. */
  readonly holdMaxMs: number
}

/** How a signed update rolls through the organism (`update:`); absent: 2 waves, 30 s bake, at most 1 % 5xx. */
export interface UpdatePolicy {
  /** Groups of cells after the canary (the cell the update was offered at), one after the other. */
  readonly waves: number
  /** How long each cell's functions must stay healthy on the new commit before the next wave. */
  readonly bakeMs: number
  /** The most 5xx answers, as a share of a cell's requests during the bake, before the update is reverted. */
  readonly max5xx: number
}

export const DEFAULT_UPDATE: UpdatePolicy = { waves: 2, bakeMs: 30_000, max5xx: 0.01 }

/** What the organism does with a cell the immune system quarantined (`immune:`). */
export interface ImmunePolicy {
  /** A cell quarantined this long is replaced: a free pool host is imprinted to take its place (null: never). */
  readonly replaceAfterMs: number | null
}

export const DEFAULT_IMMUNE: ImmunePolicy = { replaceAfterMs: 600_000 }

export interface DivisionLimits {
  readonly requestsPerSecond: number | null
  readonly distinctUsers: number | null
  readonly dataBytes: number | null
  /** Fraction of one core, 0..N */
  readonly cpu: number | null
  readonly memoryBytes: number | null
  readonly windowMs: number
  readonly cooldownMs: number
}

export interface Genome {
  readonly organism: string
  /** DNS zone, lower case, no trailing dot. */
  readonly zone: string
  /** Router port the genome asks for (null: the cell's default / flag). */
  readonly routerPort: number | null
  readonly dnsPort: number | null
  /** The TCP port cells link to each other on (null: a random one per start; `--peer-port` wins). */
  readonly peerPort: number | null
  readonly functions: readonly FunctionSpec[]
  readonly division: DivisionLimits
  /** Who sees peer ids and ports on the live map: viewers on the cell's own host (default), or all. */
  readonly mapDetails?: 'local' | 'all'
  /** How moves go: live (data copied while serving) with a bound on the hold; absent: live, 5 s. */
  readonly moves?: MovePolicy
  readonly update?: UpdatePolicy
  /** Absent in genomes built by hand (tests): DEFAULT_IMMUNE. */
  readonly immune?: ImmunePolicy
  /** Host pool reference: a path relative to the genome root, or null. */
  readonly hostPool: string | null
  /** Absolute path of the genome root the spec was read from. */
  readonly root: string
  /** Commit id the genome was read at (null when read from a plain directory). */
  readonly commit: string | null
}
