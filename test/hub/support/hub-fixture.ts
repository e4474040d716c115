import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as netConnect } from 'node:net'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import mqtt, { MqttClient, type IClientOptions } from 'mqtt'
import type { Logger } from '../../../edge/shared/logger.ts'
import { CredentialStore, makeEntry, writeCredentialFile, type Role } from '../../../hub/credentials.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { startHub, type HubConfig, type RunningHub } from '../../../hub/main.ts'
import { eventExamples, type EventType } from '../../../edge/protocol/index.ts'

/** A client the tests log in as; the password is the username reversed, never reused elsewhere. */
export interface TestUser {
  username: string
  password: string
  role: Role
  hall: string
  counter: string | null
}

export function user(role: Role, hall: string, counter: string | null = null, username?: string): TestUser {
  const name = username ?? (counter ? `${hall}-${counter}` : `${hall}-${role}`)
  return { username: name, password: `pw-${name.split('').reverse().join('')}`, role, hall, counter }
}

export async function writeUsers(path: string, users: TestUser[]): Promise<void> {
  const entries = await Promise.all(users.map((u) => makeEntry({ username: u.username, role: u.role, hall: u.hall, counter: u.counter, password: u.password })))
  await writeCredentialFile(path, entries)
}

/** The hub's credential store over a file of its own holding these users (no watch: a test reloads when it means to). */
export async function credentialStoreOf(users: TestUser[]): Promise<{ store: CredentialStore; path: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'credentials-'))
  const path = join(dir, 'credentials.json')
  await writeUsers(path, users)
  const store = new CredentialStore({ path, log: silentLogger(), watch: false })
  await store.start()
  return {
    store,
    path,
    stop: async () => {
      store.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Log lines a test can assert on: every refusal must leave one. */
export class CapturedLog {
  readonly lines: Array<Record<string, unknown>> = []
  readonly logger: Logger

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>)
        done()
      },
    })
    this.logger = pino({ level: 'debug' }, sink)
  }

  refusals(kind?: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.refusal !== undefined && (kind === undefined || l.refusal === kind))
  }

  /** Secrets must never reach a log line. */
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n')
  }
}

export interface TestHub {
  hub: RunningHub
  dir: string
  credentialsFile: string
  log: CapturedLog
  url: string
  stop(): Promise<void>
}

export async function startTestHub(users: TestUser[], config: Partial<HubConfig> & { hall: string }): Promise<TestHub> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-test-'))
  const credentialsFile = join(dir, 'credentials.json')
  await writeUsers(credentialsFile, users)
  const log = new CapturedLog()
  const hub = await startHub({ port: 0, credentialsFile, ...config }, log.logger)
  return {
    hub,
    dir,
    credentialsFile,
    log,
    url: `mqtt://127.0.0.1:${hub.port}`,
    async stop() {
      await hub.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Connects as a user, optionally from another loopback address (the hub keys its guards by address). */
export function connectAs(port: number, u: TestUser, opts: IClientOptions & { from?: string } = {}): Promise<MqttClient> {
  const { from, ...rest } = opts
  const client = new MqttClient(
    () => {
      const s = netConnect({ host: '127.0.0.1', port, ...(from ? { localAddress: from } : {}) })
      s.setNoDelay(true)
      return s
    },
    { protocolVersion: 4, clientId: u.username, username: u.username, password: u.password, reconnectPeriod: 0, connectTimeout: 20_000, ...rest },
  )
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      done()
      client.end(true)
      reject(err)
    }
    const onClose = () => {
      done()
      client.end(true)
      reject(new Error('closed before CONNACK'))
    }
    const done = () => {
      client.off('error', onError)
      client.off('close', onClose)
    }
    client.once('connect', () => {
      done()
      client.on('error', () => {}) // later errors are the test's to observe through 'close'
      resolve(client)
    })
    client.once('error', onError)
    client.once('close', onClose)
  })
}

/** 'acked' on PUBACK, 'closed' when the hub refused by closing the connection (MQTT 3.1.1 has no negative PUBACK). */
export function publishOutcome(client: MqttClient, topic: string, payload: string | Buffer, opts: { retain?: boolean } = {}): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve('closed')
    client.once('close', () => resolve('closed'))
    client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => {
      if (!err) resolve('acked')
    })
  })
}

/** 'granted', or 'denied' for SUBACK 0x80. */
export function subscribeOutcome(client: MqttClient, filter: string): Promise<'granted' | 'denied'> {
  return new Promise((resolve) => {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      resolve(err || !granted || granted.some((g) => g.qos === 128) ? 'denied' : 'granted')
    })
  })
}

/** A contract-valid event of a board, with the envelope a board would stamp. */
export function boardEvent(type: EventType, boot: string, seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...eventExamples[type], id: `${boot}-${seq}`, boot, seq, ts: new Date().toISOString(), synced: true, ...extra }
}

export function statusMessage(boot: string, seq: number, online: boolean): Record<string, unknown> {
  const env = { v: 1, id: `${boot}-${seq}`, boot, seq, ts: new Date().toISOString(), synced: true }
  return online ? { ...env, online: true, version: '0.1.0', board: 'sim-window', capabilities: ['display'] } : { ...env, online: false, reason: 'will' }
}

export async function closeAll(clients: Array<MqttClient | null | undefined>): Promise<void> {
  await Promise.all(clients.map((c) => c?.endAsync(true).catch(() => {})))
}

export { mqtt }
