// A free TCP port on a host, for servers that cannot be told to pick one (etcd): bind port 0, read it, let it go.
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

export async function freePort (host = '127.0.0.1'): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, host, resolve) })
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}
