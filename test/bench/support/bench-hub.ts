/**
 * The hall hub as production runs it: `counter-edge hub --config` with its systemd unit's environment, a process
 * of its own with its data directory on disk (LevelDB sessions, custody log
 * fsynced before PUBACK), authentication, ACL, and a bridge to central.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { openSync, closeSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hashPassword, writeCredentialFile, type CredentialEntry, type Role } from '../../../hub/credentials.ts'
import { freePort } from '../../support/ports.ts'
import { hubUnitEnvironment } from '../../support/systemd-units.ts'
import { canConnect } from './net.ts'
import { watchPages } from './page-watchers.ts'

export const CLI = new URL('../../../cli/counter-edge.mjs', import.meta.url).pathname
export const REPO = new URL('../../../', import.meta.url).pathname

/** Where the benches keep data directories: on the repository's disk, never a tmpfs (fsync must cost what it costs). */
export async function benchDataRoot(): Promise<string> {
  const root = join(REPO, '.tmp', 'bench')
  await mkdir(root, { recursive: true })
  return root
}

export interface Account {
  username: string
  password: string
  role: Role
  hall: string
  counter: string | null
}

/**
 * One scrypt hash shared by every account with the same password: a thousand
 * boards would otherwise cost 40 s of hashing before the bench starts. The hub
 * still runs one full scrypt check per login, as in production.
 */
export async function writeAccounts(path: string, accounts: Account[]): Promise<void> {
  const hashes = new Map<string, Awaited<ReturnType<typeof hashPassword>>>()
  const entries: CredentialEntry[] = []
  const created = new Date().toISOString()
  for (const a of accounts) {
    let h = hashes.get(a.password)
    if (!h) {
      h = await hashPassword(a.password)
      hashes.set(a.password, h)
    }
    entries.push({ username: a.username, role: a.role, hall: a.hall, counter: a.counter, ...h, revoked: false, created })
  }
  await writeCredentialFile(path, entries)
}

export function boardAccount(hall: string, counter: string, password = 'bench-board-password'): Account {
  return { username: `${hall}-${counter}`, password, role: 'board', hall, counter }
}

export function counterName(i: number): string {
  return `w${String(i).padStart(4, '0')}`
}

/** Room for a whole simulated hall on one loopback address (the defaults assume one board per address). */
export const LOOPBACK_LIMITS = {
  maxConnectionsPerAddress: 20_000,
  connectBurstPerAddress: 20_000,
  connectsPerSecondPerAddress: 5_000,
}

export interface HubProcessOptions {
  hall: string
  accounts: Account[]
  /** Central; without it the hub keeps no custody log and runs no bridge. */
  upstreamUrl?: string
  /** Open the inspector on this port, so the bench can profile a chosen window (RemoteProfiler). */
  inspectPort?: number
  logLevel?: string
  /** No data directory: sessions and custody in memory (to show what the disk costs; never how a hall runs). */
  memory?: boolean
  /** Environment for the hub process over its unit's Environment= lines (test/bench/hub-cpu-pairs.ts --after-env). */
  env?: Record<string, string>
  /** Open the dashboard and /metrics on a port of their own. */
  http?: boolean
  /**
   * The dashboard open and watched, as a hall runs its hub: its two page streams held by readers
   * for as long as the hub runs (support/page-watchers.ts). Implies http.
   */
  watched?: boolean
  /** Limits beside LOOPBACK_LIMITS (hub/limits.ts). */
  limits?: Record<string, number>
  /** Another checkout's launcher (cli/counter-edge.mjs), to run an earlier hub beside this one (test/bench/hub-cpu-pairs.ts). */
  cli?: string
  /** Node options after the unit's own (its NODE_OPTIONS; the unit's other Environment= lines are given too), e.g. to try a V8 flag (test/bench/hub-cpu-pairs.ts --after-flags). */
  nodeFlags?: string[]
}

export interface BenchHubProcess {
  readonly port: number
  readonly url: string
  readonly pid: number
  readonly dataDir: string
  /** The dashboard's port (with the http option), else null. */
  readonly httpPort: number | null
  /** SIGTERM, then wait for the clean stop. */
  stop(): Promise<void>
}

export async function startHubProcess(o: HubProcessOptions): Promise<BenchHubProcess> {
  const dir = await mkdtemp(join(await benchDataRoot(), `hub-${o.hall}-`))
  const credentialsFile = join(dir, 'credentials.json')
  await writeAccounts(credentialsFile, o.accounts)
  const port = await freePort()
  const dataDir = join(dir, 'data')
  const httpPort = o.http || o.watched ? await freePort() : null
  const config = {
    hall: o.hall,
    host: '127.0.0.1',
    port,
    credentialsFile,
    ...(o.memory ? {} : { dataDir }),
    ...(o.upstreamUrl ? { upstream: { url: o.upstreamUrl, clientId: `bench-hub-${o.hall}-${process.pid}` } } : {}),
    limits: { ...LOOPBACK_LIMITS, ...o.limits },
    ...(httpPort ? { http: { port: httpPort } } : {}),
  }
  const configFile = join(dir, 'hub.json')
  await writeFile(configFile, JSON.stringify(config, null, 2))
  // Log lines go to a file, as journald would take them: the bench process never parses them.
  const logFile = join(dir, 'hub.log')
  const fd = openSync(logFile, 'a')
  const cli = o.cli ?? CLI
  // The unit's node options go on the command line, so the bench's own NODE_OPTIONS (if any) stay as they were.
  const { NODE_OPTIONS: unitNodeOptions = '', ...unitEnv } = await hubUnitEnvironment(resolve(cli, '../..'))
  const flags = [...unitNodeOptions.split(/\s+/).filter(Boolean), ...(o.nodeFlags ?? []), ...(o.inspectPort ? [`--inspect=127.0.0.1:${o.inspectPort}`] : [])]
  const child: ChildProcess = spawn(process.execPath, [...flags, cli, 'hub', '--config', configFile], {
    env: { ...process.env, ...unitEnv, LOG_LEVEL: o.logLevel ?? 'info', LOG_FORMAT: 'json', ...o.env },
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hub exited at start (code ${child.exitCode}): ${readFileSync(logFile, 'utf8').slice(-2000)}`)
    if (await canConnect(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`hub did not listen on ${port} within 60 s: ${readFileSync(logFile, 'utf8').slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const watchers = o.watched ? await watchPages(httpPort!) : null
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid!,
    dataDir,
    httpPort,
    async stop() {
      watchers?.close()
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL')
          await exited
        }
      }
      // BENCH_KEEP_DATA=1 keeps the hub's log, config and data for a look afterwards.
      if (process.env.BENCH_KEEP_DATA) console.log(`hub ${o.hall} kept in ${dir}`)
      else await rm(dir, { recursive: true, force: true })
    },
  }
}
