// The Node binary packed once on the parent and kept beside its state: the runtime is nearly all of what an imprint
// copies (127 MB). zstd makes it a third and unpacks in a quarter second; gzip, which every host has, the same size
// but four times slower to unpack. The host unpacks while the bytes arrive; a host with neither gets the binary as is.
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Transform } from 'node:stream'
import { constants, createGzip, createZstdCompress } from 'node:zlib'

export type PackFormat = 'zstd' | 'gzip'
export type RuntimePacks = Partial<Record<PackFormat, string>>

const FORMATS: Record<PackFormat, { ext: string, compressor: () => Transform }> = {
  zstd: { ext: 'zst', compressor: () => createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3 } }) },
  gzip: { ext: 'gz', compressor: () => createGzip({ level: constants.Z_DEFAULT_COMPRESSION }) }
}

const building = new Map<string, Promise<string>>()

/** Where a pack of `binary` lives under cacheDir: named for the binary's size and mtime, so a new Node gets new packs. */
export async function runtimePackPath (cacheDir: string, binary: string, format: PackFormat): Promise<string> {
  const s = await stat(binary)
  return join(cacheDir, `${basename(binary)}-${process.platform}-${process.arch}-${s.size}-${Math.trunc(s.mtimeMs)}.${FORMATS[format].ext}`)
}

/** The packs made so far; an imprint uses what is there rather than wait for the rest. */
export async function findRuntimePacks (cacheDir: string, binary: string): Promise<RuntimePacks> {
  const out: RuntimePacks = {}
  for (const format of Object.keys(FORMATS) as PackFormat[]) {
    const file = await runtimePackPath(cacheDir, binary, format)
    if (await stat(file).then(() => true, () => false)) out[format] = file
  }
  return out
}

/** Makes each pack asked for once (concurrent callers share the work); written to a temp name, renamed when complete. */
export async function makeRuntimePacks (cacheDir: string, binary: string, formats: readonly PackFormat[] = ['zstd', 'gzip']): Promise<RuntimePacks> {
  const made = await findRuntimePacks(cacheDir, binary)
  for (const format of formats) {
    if (made[format] == null) made[format] = await makePack(cacheDir, binary, format)
  }
  return made
}

async function makePack (cacheDir: string, binary: string, format: PackFormat): Promise<string> {
  const file = await runtimePackPath(cacheDir, binary, format)
  let job = building.get(file)
  if (job == null) {
    job = (async () => {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 })
      const tmp = `${file}.${process.pid}.tmp`
      try {
        await pipeline(createReadStream(binary, { highWaterMark: 1 << 20 }), FORMATS[format].compressor(), createWriteStream(tmp, { mode: 0o600 }))
        await rename(tmp, file)
        return file
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      } finally {
        building.delete(file)
      }
    })()
    building.set(file, job)
  }
  return await job
}

/** The pack to send to a host with these tools, if any. */
export function pickPack (packs: RuntimePacks | null | undefined, host: { zstd: boolean, gzip: boolean }): { file: string, format: PackFormat } | null {
  if (packs?.zstd != null && host.zstd) return { file: packs.zstd, format: 'zstd' }
  if (packs?.gzip != null && host.gzip) return { file: packs.gzip, format: 'gzip' }
  return null
}
