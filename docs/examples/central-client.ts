/**
 * An example central system: serves one applicant at one window, end to end,
 * the way a real queue system integrates with counter-edge over MQTT.
 *
 *   npx tsx docs/examples/central-client.ts --url mqtt://127.0.0.1:1884 --hall hall-1 --counter w01 --press satisfied
 *
 * Against `npm start -- --no-traffic` (or `node cli/counter-edge.mjs sim --no-traffic`),
 * where nobody stands at the windows, `--press <score>` presses the evaluator key
 * through the simulator's control API so the rating comes back. See docs/integration.md.
 *
 * What it shows:
 * - subscribe to the whole hall and validate every message with `parseMessage`;
 * - drop duplicates by message `id` (delivery is at least once);
 * - track each window from its retained `status` and `state`, by boot id and `seq`:
 *   a late will from an earlier boot never marks a window offline;
 * - send commands with a fresh `id` and an `expires`, QoS 1, never retained; match
 *   replies by `cmd`; resend with the same id when no reply comes (the board acts once);
 * - handle refusals by their error code.
 *
 * Exit codes: 0 the applicant was served (rated, or left without rating); 1 something
 * failed; 2 bad arguments; 3 the window is offline, unknown or busy.
 */
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { MqttClient } from 'mqtt'
import { connectMqtt, parseBrokerUrl } from '../../edge/shared/mqtt-connect.ts'
import {
  CAPTURE_KINDS,
  ID_PATTERN,
  OFFICER_ID_PATTERN,
  TICKET_PATTERN,
  parseMessage,
  topics,
  type CaptureKind,
  type CommandInput,
  type CommandName,
  type ErrorCode,
  type MessageParse,
  type Reply,
  type State,
  type Status,
} from '../../edge/protocol/index.ts'

export interface ClientOptions {
  url: string
  hall: string
  counter: string
  ticket: string
  service: string
  officer: string
  officerName: string
  capture: CaptureKind | 'none'
  /** Evaluator key to press through the simulator's control API; null: wait for a real applicant. */
  press: string | null
  control: string
  timeoutS: number
  verbose: boolean
}

export class UsageError extends Error {}

const USAGE = `usage: central-client [options]

  --url URL            central broker (default mqtt://127.0.0.1:1884, the stand-in of npm start)
  --hall ID            hall id (default hall-1)
  --counter ID         window to serve at (default w01)
  --ticket T           ticket to call (default A023)
  --service NAME       service type sent with the call (default passport)
  --officer ID         officer to sign in if the window is closed (default P10482)
  --officer-name NAME  officer's display name (default "Li Wei")
  --capture KIND       photo | fingerprint | none (default photo)
  --press SCORE        press this evaluator key via the simulator's control API
                       (satisfied | neutral | dissatisfied); without it, wait for an applicant
  --control URL        simulator control API (default http://127.0.0.1:8080)
  --timeout S          give up after S seconds (default 90)
  --verbose            print every message of the window, including state
  --help`

/** Parses the command line; throws UsageError with a message that says what to fix. */
export function parseOptions(argv: string[]): ClientOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1884' },
      hall: { type: 'string', default: 'hall-1' },
      counter: { type: 'string', default: 'w01' },
      ticket: { type: 'string', default: 'A023' },
      service: { type: 'string', default: 'passport' },
      officer: { type: 'string', default: 'P10482' },
      'officer-name': { type: 'string', default: 'Li Wei' },
      capture: { type: 'string', default: 'photo' },
      press: { type: 'string' },
      control: { type: 'string', default: 'http://127.0.0.1:8080' },
      timeout: { type: 'string', default: '90' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return 'help'
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new UsageError(message)
  }
  check(ID_PATTERN.test(values.hall), `--hall "${values.hall}": expected 1–32 characters a–z, 0–9, '-'`)
  check(ID_PATTERN.test(values.counter), `--counter "${values.counter}": expected 1–32 characters a–z, 0–9, '-'`)
  check(TICKET_PATTERN.test(values.ticket), `--ticket "${values.ticket}": expected 1–8 characters A–Z, 0–9`)
  check(OFFICER_ID_PATTERN.test(values.officer), `--officer "${values.officer}": expected 1–32 characters A–Z, a–z, 0–9, '_', '-'`)
  check(values.capture === 'none' || (CAPTURE_KINDS as readonly string[]).includes(values.capture), `--capture must be photo, fingerprint or none, not "${values.capture}"`)
  const timeoutS = Number(values.timeout)
  check(Number.isFinite(timeoutS) && timeoutS > 0, `--timeout must be a number of seconds, not "${values.timeout}"`)
  try {
    parseBrokerUrl(values.url)
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message}`)
  }
  return {
    url: values.url,
    hall: values.hall,
    counter: values.counter,
    ticket: values.ticket,
    service: values.service,
    officer: values.officer,
    officerName: values['officer-name'],
    capture: values.capture as CaptureKind | 'none',
    press: values.press ?? null,
    control: values.control.replace(/\/+$/, ''),
    timeoutS,
    verbose: values.verbose,
  }
}

/**
 * What each refusal code means to a central system. A Record over ErrorCode, so a
 * code added to the contract fails type-checking here until it is handled.
 */
export const REFUSAL_HINTS: Record<ErrorCode, string> = {
  'bad-json': 'the payload was not JSON: a bug in this client',
  'bad-payload': 'the payload broke the schema (the message names the field): a bug in this client',
  'bad-topic': 'the topic is not part of the contract: a bug in this client',
  'unknown-command': 'the board does not know this command (contract version mismatch?)',
  expired: "the command arrived after its expiry: check that central's and the board's clocks agree and that commands do not sit in a queue",
  'wrong-mode': 'the window is not in the mode the command needs; its state says what it is doing',
  'wrong-ticket': 'the window is handling another ticket',
  busy: 'the device is busy; retry when it is free',
  'not-ready': 'the board is starting or a device has not come up; retry later',
  'device-fault': 'a device the command needs is faulty (see state.faults): call a hall technician',
  unsupported: 'this board has no device or capability for the command',
  'limit-reached': "the window's limit for this command is used up (recalls): do what the message says (send no-show)",
  'too-large': 'the payload is larger than the contract allows: a bug in this client',
  internal: 'an unexpected error on the board; the command may not have been acted on: check the state before retrying',
  'unknown-counter': "the hall's hub has no board for this counter (not provisioned, or never connected): check the counter id",
  'qos-required': 'the command was sent at QoS 0 and not delivered: send commands at QoS 1',
  'retained-refused': 'the command was retained at the central broker and not delivered (the hub cleared it): never retain a command',
}

type Received = Extract<MessageParse, { ok: true }>

/** What central knows about one window, rebuilt from retained status and state. */
interface WindowView {
  online: boolean | null
  /** The boot of the last birth: messages from other boots are history. */
  boot: string | null
  status: Status | null
  state: State | null
  /** A state from a boot whose birth has not arrived yet. */
  earlyState: State | null
}

class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** Remembers the last `capacity` ids: enough to catch redeliveries, bounded for a process that runs for months. */
class SeenIds {
  private readonly ids = new Set<string>()
  constructor(private readonly capacity = 100_000) {}
  /** True the first time an id is seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false
    this.ids.add(id)
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string)
    return true
  }
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8)
}

export class CentralClient {
  private client: MqttClient | null = null
  private readonly seen = new SeenIds()
  /** Validated, deduplicated messages of the window being served, in arrival order. */
  private readonly history: Received[] = []
  private waiters: Array<() => void> = []
  private readonly idPrefix = `example-${randomBytes(3).toString('hex')}`
  private cmdSeq = 0
  readonly window: WindowView = { online: null, boot: null, status: null, state: null, earlyState: null }
  readonly counts = { messages: 0, duplicates: 0, violations: 0, otherWindows: 0 }

  constructor(
    private readonly o: ClientOptions,
    private readonly print: (line: string) => void = (line) => console.log(`${clock()}  ${line}`),
  ) {}

  async connect(): Promise<void> {
    const { o } = this
    // connectMqtt sets TCP_NODELAY on the socket: without it each QoS 1 round trip waits on Nagle.
    const client = connectMqtt({ addresses: [parseBrokerUrl(o.url)], clientId: `central-${this.idPrefix}`, clean: true, reconnectPeriod: 1000 })
    this.client = client
    client.on('message', (topic, payload) => this.handle(topic, payload))
    let lastError = ''
    client.on('error', (err) => {
      if (err.message !== lastError) this.print(`broker link error: ${err.message}`)
      lastError = err.message
    })
    await new Promise<void>((resolveConnect, reject) => {
      const t = setTimeout(() => reject(new Failure(`could not connect to ${o.url} within 10 s (${lastError || 'no answer'}): is the hall (npm start) running?`)), 10_000)
      client.once('connect', () => {
        clearTimeout(t)
        resolveConnect()
      })
    })
    this.print(`connected to ${o.url}; subscribing to hall/${o.hall}/#`)
    // The whole hall: a real central tracks every window. Retained status and state arrive at once.
    await client.subscribeAsync(`hall/${o.hall}/#`, { qos: 1 })
  }

  /** Every message from the broker goes through here: validate, deduplicate, track the window. */
  handle(topic: string, payload: Uint8Array | string): void {
    const m = parseMessage(topic, payload)
    if (!m.ok) {
      // Never crash on bad input and never act on it: count it and say what was wrong.
      this.counts.violations++
      this.print(`✗ ignored a message that breaks the contract on ${topic}: ${m.code}: ${m.message}`)
      return
    }
    // Our own commands come back to us through the wildcard; hall topics carry no envelope.
    if (m.kind === 'cmd' || m.kind === 'hub-status' || m.kind === 'hub-bridge' || m.kind === 'central-status' || m.kind === 'central-waiting') {
      if (this.o.verbose && m.kind !== 'cmd') this.print(`  ${m.kind}: ${JSON.stringify(m.message)}`)
      return
    }
    this.counts.messages++
    if (!this.seen.add(m.message.id)) {
      this.counts.duplicates++
      this.print(`· dropped a duplicate of ${m.message.id} (${topic.split('/').slice(4).join('/')})`)
      return
    }
    if (m.topic.counter !== this.o.counter) {
      this.counts.otherWindows++
      return
    }
    const w = this.window
    switch (m.kind) {
      case 'status': {
        const s = m.message
        if (s.online) {
          w.online = true
          w.boot = s.boot
          w.status = s
          if (w.state && w.state.boot !== s.boot) w.state = null
          if (w.earlyState?.boot === s.boot) w.state = w.earlyState
          w.earlyState = null
          this.print(`window ${this.o.counter} online: boot ${s.boot}, board ${s.board}, runtime ${s.version}, capabilities ${s.capabilities.join(', ') || 'none'}`)
        } else if (w.boot !== null && s.boot !== w.boot) {
          this.print(`· ignored an offline status (${s.reason}) from boot ${s.boot}: the window was born again as boot ${w.boot}`)
        } else {
          w.online = false
          w.boot = s.boot
          w.status = s
          this.print(`window ${this.o.counter} offline (${s.reason}), boot ${s.boot}`)
        }
        break
      }
      case 'state': {
        const s = m.message
        if (w.boot !== null && s.boot !== w.boot) {
          w.earlyState = s
          break
        }
        if (w.state && w.state.boot === s.boot && s.seq < w.state.seq) break // an older state delivered late
        w.state = s
        if (this.o.verbose) this.print(`  state: ${describeState(s)}`)
        break
      }
      case 'event': {
        const { v: _v, id, boot: _b, seq, ts: _t, synced: _s, type, ...fields } = m.message
        this.print(`← event ${type} ${JSON.stringify(fields)} (id ${id}, seq ${seq})`)
        // A bad rating must be followed up: a real central opens a follow-up case keyed by `record`.
        if (m.message.type === 'rating-alert') {
          const a = m.message
          this.print(`⚠ 差评提醒 bad rating to follow up: ${a.ticket} ${a.level} (${a.score}), officer ${a.officer ?? '—'}, record ${a.record}${a.caseNo ? `, case ${a.caseNo}` : ''}`)
        }
        break
      }
      case 'reply': {
        const r = m.message
        this.print(`← reply to ${r.name} ${r.cmd}: ${r.ok ? 'ok' : `refused, ${r.code}: ${r.message ?? ''}`}${r.result ? ` ${JSON.stringify(r.result)}` : ''}`)
        break
      }
      case 'telemetry':
        if (this.o.verbose) this.print(`  telemetry: up ${Math.round(m.message.uptimeS)} s, journal ${m.message.journal.depth}`)
        break
    }
    this.history.push(m)
    for (const wake of this.waiters) wake()
  }

  /** Resolves with the first message from history index `since` on for which `pick` returns a value. */
  waitFor<T>(since: number, pick: (m: Received) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolveWait, reject) => {
      let next = since
      const scan = (): boolean => {
        while (next < this.history.length) {
          const found = pick(this.history[next++]!)
          if (found !== undefined) {
            done()
            resolveWait(found)
            return true
          }
        }
        return false
      }
      const timer = setTimeout(() => {
        done()
        reject(new Failure(`no ${what} within ${Math.round(timeoutMs / 1000)} s`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((w) => w !== wake)
      }
      const wake = () => void scan()
      if (!scan()) this.waiters.push(wake)
    })
  }

  get mark(): number {
    return this.history.length
  }

  /**
   * Sends one command and returns its reply. The id is fresh, the expiry 30 s
   * ahead; if no reply comes in 5 s the same payload (same id) goes again: the
   * board answers a repeated id with its first reply and never acts twice.
   */
  async command<N extends CommandName>(name: N, args: Omit<CommandInput<N>, 'id' | 'expires'>): Promise<{ id: string; reply: Reply; since: number }> {
    const client = this.client
    if (!client) throw new Failure('not connected')
    const id = `${this.idPrefix}-${++this.cmdSeq}`
    const now = Date.now()
    const payload = JSON.stringify({ id, expires: new Date(now + 30_000).toISOString(), issued: new Date(now).toISOString(), ...args })
    const topic = topics.cmd(this.o.hall, this.o.counter, name)
    const since = this.mark
    const isReply = (m: Received) => (m.kind === 'reply' && m.message.cmd === id ? m.message : undefined)
    this.print(`→ ${name} ${JSON.stringify(args)} (id ${id})`)
    await client.publishAsync(topic, payload, { qos: 1, retain: false })
    try {
      return { id, reply: await this.waitFor(since, isReply, 5_000, `reply to ${name}`), since }
    } catch {
      this.print(`  no reply to ${id} within 5 s; sending it again with the same id`)
      await client.publishAsync(topic, payload, { qos: 1, retain: false })
      return { id, reply: await this.waitFor(since, isReply, 10_000, `reply to ${name} ${id}`), since }
    }
  }

  /** A refused command: explain the code; the caller decides whether the session can go on. */
  refused(reply: Reply): string {
    const code = reply.code ?? 'internal'
    return `${reply.name} refused (${code}: ${reply.message ?? 'no detail'}): ${REFUSAL_HINTS[code]}`
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = null
    if (client) await Promise.race([client.endAsync(), new Promise((r) => setTimeout(r, 2000))])
  }
}

function describeState(s: State): string {
  const parts: string[] = [s.mode]
  if (s.ticket) parts.push(`ticket ${s.ticket.number}`)
  if (s.officer) parts.push(`officer ${s.officer.id}`)
  if (s.evaluation) parts.push(`evaluation open until ${s.evaluation.closesAt}`)
  if (s.pause) parts.push(`paused: ${s.pause.reason}`)
  if (s.faults.length) parts.push(`faults: ${s.faults.map((f) => `${f.device}:${f.code}`).join(', ')}`)
  return parts.join(', ')
}

/** The simulator's control API stands in for the applicant's finger. */
async function pressKey(o: ClientOptions, key: string): Promise<void> {
  const url = `${o.control}/api/windows/${o.counter}/keys/${encodeURIComponent(key)}/press`
  let res: Response
  try {
    res = await fetch(url, { method: 'POST' })
  } catch (err) {
    throw new Failure(`could not reach the control API at ${o.control} (${(err as Error).message}); pass --control, or drop --press at a real hall`)
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string }
    throw new Failure(`the control API refused to press "${key}": ${res.status} ${body.error ?? ''}`)
  }
}

/** The session: know the window, open it, call, start, capture, finish, wait for the rating. */
export async function serveOne(o: ClientOptions, c: CentralClient, print: (line: string) => void): Promise<void> {
  const w = c.window
  const stateNow = () => w.state

  // 1. Know the window. Retained status and state arrive on subscribe; if not, ask the board to republish.
  const known = () => (w.online !== null && w.state ? true : undefined)
  try {
    await c.waitFor(0, known, 2_000, 'retained status and state')
  } catch {
    print(`no retained state for window ${o.counter} yet; asking it to republish (sync)`)
    const { reply } = await c.command('sync', {}).catch(() => {
      throw new Failure(`window ${o.counter} of hall ${o.hall} does not answer: is it provisioned and online, and is the hall's hub bridged to ${o.url}?`, 3)
    })
    if (!reply.ok) throw new Failure(c.refused(reply), reply.code === 'unknown-counter' ? 3 : 1)
    await c.waitFor(0, known, 5_000, `state of window ${o.counter}`)
  }
  if (!w.online) throw new Failure(`window ${o.counter} is offline (${w.status && !w.status.online ? w.status.reason : 'no birth seen'})`, 3)
  print(`window ${o.counter} is ${describeState(stateNow()!)}`)

  // 2. Open the window if needed.
  const mode = stateNow()!.mode
  if (mode === 'closed') {
    const { reply } = await c.command('officer', { action: 'sign-in', officer: o.officer, officerName: o.officerName })
    if (!reply.ok) throw new Failure(c.refused(reply))
  } else if (mode === 'paused') {
    const { reply } = await c.command('resume', {})
    if (!reply.ok) throw new Failure(c.refused(reply))
  } else if (mode !== 'idle') {
    throw new Failure(`window ${o.counter} is busy (${describeState(stateNow()!)}); pick another with --counter, or wait until it is idle`, 3)
  }

  // 3. Call the ticket: the event carries the command id in `cmd`.
  const call = await c.command('call', { ticket: o.ticket, service: o.service })
  if (!call.reply.ok) throw new Failure(c.refused(call.reply))
  await c.waitFor(call.since, (m) => (m.kind === 'event' && m.message.type === 'called' && m.message.cmd === call.id ? true : undefined), 5_000, 'called event')
  print(`✓ ${o.ticket} is on the display of window ${o.counter}`)

  // 4. The applicant came: start the service.
  const start = await c.command('start', { ticket: o.ticket })
  if (!start.reply.ok) throw new Failure(c.refused(start.reply))
  const started = await c.waitFor(start.since, (m) => (m.kind === 'event' && m.message.type === 'service-started' ? m.message : undefined), 5_000, 'service-started event')
  print(`✓ service of ${o.ticket} started after ${(started.waitedMs / 1000).toFixed(1)} s of waiting`)

  // 5. Capture (document photo or fingerprints). Optional: a window without the device says `unsupported`.
  if (o.capture !== 'none') {
    const cap = await c.command('capture', { kind: o.capture, ticket: o.ticket })
    if (!cap.reply.ok) {
      if (cap.reply.code === 'unsupported' || cap.reply.code === 'busy' || cap.reply.code === 'device-fault') print(`! ${c.refused(cap.reply)}; going on without it`)
      else throw new Failure(c.refused(cap.reply))
    } else {
      // The outcome comes later as an event with the capture command's id; no biometric data travels.
      const outcome = await c.waitFor(
        cap.since,
        (m) => (m.kind === 'event' && (m.message.type === 'capture-done' || m.message.type === 'capture-failed') && m.message.cmd === cap.id ? m.message : undefined),
        30_000,
        `${o.capture} capture outcome`,
      )
      if (outcome.type === 'capture-done') print(`✓ ${o.capture} captured in ${outcome.latencyMs} ms`)
      else print(`! ${o.capture} capture failed (${outcome.reason}${outcome.message ? `: ${outcome.message}` : ''}); the officer can retry; going on`)
    }
  }

  // 6. Finish: served opens the evaluator.
  const finish = await c.command('finish', { outcome: 'served', ticket: o.ticket })
  if (!finish.reply.ok) throw new Failure(c.refused(finish.reply))
  const finished = await c.waitFor(finish.since, (m) => (m.kind === 'event' && m.message.type === 'service-finished' && m.message.cmd === finish.id ? m.message : undefined), 5_000, 'service-finished event')
  print(`✓ service of ${o.ticket} finished (${finished.outcome}) after ${(finished.durationMs / 1000).toFixed(1)} s; the evaluator is open`)
  const evaluation = await c
    .waitFor(finish.since, (m) => (m.kind === 'state' && m.message.evaluation?.ticket === o.ticket ? m.message.evaluation : undefined), 5_000, 'state with the open evaluation')
    .catch(() => null)
  const closesAt = evaluation ? Date.parse(evaluation.closesAt) : Date.now() + 30_000

  // 7. The rating: only the applicant's key press produces it. In the simulator we press for them.
  const since = c.mark
  if (o.press) {
    await pressKey(o, o.press)
    print(`pressed "${o.press}" on the evaluator of window ${o.counter} (simulator control API)`)
  } else {
    print(`waiting for the applicant to rate (the evaluator closes at ${new Date(closesAt).toTimeString().slice(0, 8)})…`)
  }
  const outcome = await c.waitFor(
    since,
    (m) => (m.kind === 'event' && (m.message.type === 'evaluated' || m.message.type === 'evaluation-missed') && m.message.ticket === o.ticket ? m.message : undefined),
    Math.max(closesAt - Date.now(), 0) + 10_000,
    'evaluated or evaluation-missed event',
  )
  if (outcome.type === 'evaluated') {
    print(`★ ${outcome.ticket} rated ${outcome.score} at window ${o.counter} (officer ${outcome.officer ?? 'none'}, ${outcome.scale}-key evaluator, ${outcome.latencyMs} ms after it opened)`)
  } else {
    print(`${outcome.ticket} left without rating (the evaluator was open ${(outcome.afterMs / 1000).toFixed(0)} s)`)
  }
}

export async function main(argv: string[]): Promise<number> {
  let o: ClientOptions | 'help'
  try {
    o = parseOptions(argv)
  } catch (err) {
    console.error(`central-client: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (o === 'help') {
    console.log(USAGE)
    return 0
  }
  const print = (line: string) => console.log(`${clock()}  ${line}`)
  const c = new CentralClient(o, print)
  const deadline = setTimeout(() => {
    print(`gave up after ${o.timeoutS} s`)
    process.exit(1)
  }, o.timeoutS * 1000)
  try {
    await c.connect()
    await serveOne(o, c, print)
    print(`done: ${c.counts.messages} board messages, ${c.counts.duplicates} duplicates dropped, ${c.counts.violations} contract violations`)
    return 0
  } catch (err) {
    const code = err instanceof Failure ? err.exitCode : 1
    print(`✗ ${(err as Error).message}`)
    return code
  } finally {
    clearTimeout(deadline)
    await c.close()
  }
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  process.on('SIGINT', () => process.exit(130))
  main(process.argv.slice(2)).then((code) => process.exit(code))
}
