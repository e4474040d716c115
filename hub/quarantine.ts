import { open, stat, type FileHandle } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Logger } from '../edge/shared/logger.ts'
import { SerialQueue } from '../edge/shared/serial-queue.ts'
import type { QuarantineKind } from './hub-counters.ts'

/**
 * Board messages the hub acknowledges without accepting them.
 *
 * MQTT 3.1.1 has no negative PUBACK: refusing a QoS 1 publish means closing
 * the connection, and a board's journal sends the same message again on the
 * next one, for ever, with every later event (ratings included) queued behind
 * it. That happens to a sound board too, e.g. one upgraded before its hub and
 * publishing an event type the hub does not know yet. So a message a board
 * publishes under its own window that the hub cannot take (unknown event type,
 * a payload that breaks its schema or its size limit, a retained event) is
 * written here, durably, and only then acknowledged: the board's link moves
 * on, nothing it sent is lost, and a technician finds it in one file
 * (`quarantine.jsonl` in the hub's data directory, one JSON object a line).
 * It never reaches the hall's readers or central.
 *
 * Without a data directory (in memory, or a node of a cluster) there is no
 * file: each entry is logged in full, and the log is its only record.
 */
export interface QuarantinedMessage {
  /** Why the hub could not take it, in the words of its refusal. */
  reason: string
  kind: QuarantineKind
  client: string
  counter: string | null
  topic: string
  qos: number
  retain: boolean
  payload: Buffer
}

export interface QuarantineEntry extends Omit<QuarantinedMessage, 'payload'> {
  ts: string
  /** The payload as text when it is UTF-8, else base64. */
  payload: string
  encoding: 'utf8' | 'base64'
}

export class QuarantineFullError extends Error {
  override readonly name = 'QuarantineFullError'
}

export class Quarantine {
  private handle: FileHandle | null = null
  private bytes = 0
  /** Bytes in the file by client id, so one board's share is bounded (maxBytesPerClient). */
  private readonly byClient = new Map<string, number>()
  /** A write failed part-way (a full disk): the next line starts on a line of its own. */
  private torn = false
  /** Appends one after another, so lines never interleave and the size stays exact. */
  private readonly writes = new SerialQueue()

  constructor(
    private readonly opts: {
      /** The file, or null to log each entry in full instead. */
      file: string | null
      /** Past this size the file takes nothing more: the hub then refuses (closes) as before, and says why. */
      maxBytes: number
      /**
       * What one client's (board's) lines may take of the file. A board that keeps sending what the hub
       * cannot accept (broken, or hostile) fills only its own share: the rest stays for the other
       * boards, whose journals would otherwise stall behind a refused message. Absent: no share.
       */
      maxBytesPerClient?: number
      log: Logger
      now?: () => Date
    },
  ) {}

  async start(): Promise<void> {
    if (!this.opts.file) return
    this.bytes = await stat(this.opts.file).then(
      (s) => s.size,
      () => 0,
    )
    if (this.bytes > 0) await this.countByClient(this.opts.file)
    this.handle = await open(this.opts.file, 'a', 0o600)
  }

  /** What each client's lines already take in a file an earlier run wrote (a torn or foreign line counts to no one). */
  private async countByClient(file: string): Promise<void> {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
    for await (const line of lines) {
      let client: unknown
      try {
        client = (JSON.parse(line) as { client?: unknown }).client
      } catch {
        continue
      }
      if (typeof client === 'string') this.byClient.set(client, (this.byClient.get(client) ?? 0) + Buffer.byteLength(line) + 1)
    }
  }

  /** Bytes a client's lines take in the file (for tests and metrics). */
  bytesOf(client: string): number {
    return this.byClient.get(client) ?? 0
  }

  /** Resolves once the message is on disk (fsynced), or logged when there is no file; rejects when it could not be kept. */
  keep(m: QuarantinedMessage): Promise<void> {
    const text = m.payload.toString('utf8')
    const utf8 = Buffer.from(text, 'utf8').equals(m.payload)
    const entry: QuarantineEntry = {
      ts: (this.opts.now?.() ?? new Date()).toISOString(),
      reason: m.reason,
      kind: m.kind,
      client: m.client,
      counter: m.counter,
      topic: m.topic,
      qos: m.qos,
      retain: m.retain,
      payload: utf8 ? text : m.payload.toString('base64'),
      encoding: utf8 ? 'utf8' : 'base64',
    }
    return this.writes.run(() => this.write(entry))
  }

  private async write(entry: QuarantineEntry): Promise<void> {
    const { log } = this.opts
    if (!this.handle) {
      log.warn({ quarantined: entry }, 'a board message the hub cannot accept, in full (this hub has no data directory to keep it in)')
      return
    }
    const line = Buffer.from(`${this.torn ? '\n' : ''}${JSON.stringify(entry)}\n`)
    if (this.bytes + line.length > this.opts.maxBytes) {
      throw new QuarantineFullError(`the quarantine file ${this.opts.file} has reached its limit of ${this.opts.maxBytes} bytes; move it away to make room`)
    }
    const share = this.opts.maxBytesPerClient
    const used = this.byClient.get(entry.client) ?? 0
    if (share !== undefined && used + line.length > share) {
      throw new QuarantineFullError(`client ${entry.client} has reached its share of the quarantine file ${this.opts.file} (${share} bytes); move the file away to make room`)
    }
    this.torn = true
    const { bytesWritten } = await this.handle.write(line)
    if (bytesWritten !== line.length) throw new Error(`the quarantine file took ${bytesWritten} of ${line.length} bytes`)
    await this.handle.sync()
    this.torn = false
    this.bytes += line.length
    this.byClient.set(entry.client, used + line.length)
  }

  async stop(): Promise<void> {
    await this.writes.drain()
    await this.handle?.close()
    this.handle = null
  }
}
