// A real etcd for tests: one member on free loopback ports in a temp dir, stopped and removed by the caller.
import { freePort } from '../../src/core/free-port.ts'
import { startEtcd, openEtcdStore } from '../../src/ownership/index.ts'
import type { EtcdProcess, OwnershipStore } from '../../src/ownership/index.ts'

/** Starts one etcd member and waits (bounded) until a store on it answers. */
export async function oneEtcd (dir: string, name = 'test', tls?: { files: { caFile: string, certFile: string, keyFile: string }, client: { ca: Buffer, cert: Buffer, key: Buffer } }): Promise<{ etcd: EtcdProcess, endpoint: string }> {
  const [client, peer] = [await freePort(), await freePort()]
  const scheme = tls == null ? 'http' : 'https'
  const etcd = await startEtcd({ name, dataDir: `${dir}/${name}.etcd`, clientUrl: `${scheme}://127.0.0.1:${client}`, peerUrl: `${scheme}://127.0.0.1:${peer}`, tls: tls?.files })
  const endpoint = etcd.clientUrl
  const deadline = Date.now() + 20_000
  for (;;) {
    const probe: OwnershipStore = await openEtcdStore({ endpoints: [endpoint], organism: 'probe', timeoutMs: 500, tls: tls?.client })
    try { await probe.list(); await probe.close(); break } catch (err) {
      await probe.close()
      if (Date.now() > deadline) { await etcd.stop(); throw err }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return { etcd, endpoint }
}
