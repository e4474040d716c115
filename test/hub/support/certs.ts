import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestPki {
  ca: string
  server: { cert: string; key: string }
  /** Client certificates by CN. */
  clients: Record<string, { cert: string; key: string }>
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * A throwaway CA, a server certificate for 127.0.0.1 and client certificates,
 * made with openssl at test time (EC keys: fast, and nothing secret is committed).
 */
export function makeTestPki(dir: string, clientCNs: string[]): TestPki {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=counter-edge test CA'])
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'])
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'])
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
  const clients: TestPki['clients'] = {}
  for (const cn of clientCNs) {
    openssl(dir, ['req', ...ec, '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`])
    openssl(dir, ['x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${cn}.crt`, '-days', '2', '-extfile', 'client.ext'])
    clients[cn] = { cert: join(dir, `${cn}.crt`), key: join(dir, `${cn}.key`) }
  }
  return { ca: join(dir, 'ca.crt'), server: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }, clients }
}

/**
 * Another client certificate from the CA of a PKI made by makeTestPki in dir;
 * a negative `days` makes one that has already expired.
 */
export function issueClientCert(dir: string, cn: string, opts: { days?: number; file?: string } = {}): { cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const file = opts.file ?? `${cn}-extra`
  openssl(dir, ['req', ...ec, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`])
  openssl(dir, ['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${file}.crt`, '-days', String(opts.days ?? 2), '-extfile', 'client.ext'])
  return { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) }
}
