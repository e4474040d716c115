import { createHash } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { messageExamples, type WindowMode } from '../../../edge/protocol/index.ts'
import { connectAs, type TestUser } from '../support/hub-fixture.ts'

/**
 * What the stand-in does with an `update` command: install and confirm, roll back after its restart, or never answer;
 * `busy` answers as the board's installer does while an earlier update is still under way (edge/update/installer.ts).
 */
export type UpdateBehaviour = 'install' | 'roll-back' | 'silent' | 'busy'

/** Who is being updated at each moment, across the stand-ins of a hall. */
export class UpdateTimeline {
  readonly active = new Set<string>()
  /** Every set of boards that were updating at the same time, as it grew. */
  readonly overlaps: string[][] = []
  readonly commands: string[] = []

  begin(counter: string): void {
    this.commands.push(counter)
    this.active.add(counter)
    this.overlaps.push([...this.active])
  }

  end(counter: string): void {
    this.active.delete(counter)
  }
}

/**
 * A board as the wire contract of issue 24 describes it (edge/protocol: the `update` command,
 * the retained `update` report), played with a raw MQTT client: it downloads the payload
 * from the URL the hub sends with its own credentials and checks its SHA-256 against the
 * signed manifest, then "restarts" (disconnects, comes back with a new boot) into the new
 * version, or back into the old one with a reason. A stand-in for the board side, as the
 * central probes stand in for central.
 */
export class BoardStandIn {
  private client: MqttClient | null = null
  private boot = ''
  private seq = 0
  private boots = 0
  version: string
  mode: WindowMode
  behaviour: UpdateBehaviour = 'install'
  readonly received: Array<Record<string, unknown>> = []
  downloaded: Buffer | null = null

  constructor(
    private readonly port: number,
    readonly user: TestUser,
    private readonly number: string,
    opts: { version: string; mode: WindowMode; timeline: UpdateTimeline },
    private readonly timeline = opts.timeline,
  ) {
    this.version = opts.version
    this.mode = opts.mode
  }

  get counter(): string {
    return this.user.counter!
  }

  private base(): string {
    return `hall/${this.user.hall}/counter/${this.counter}`
  }

  private env() {
    const seq = this.seq++
    return { v: 1, id: `${this.boot}-${seq}`, boot: this.boot, seq, ts: new Date().toISOString(), synced: true }
  }

  private async pub(leaf: string, body: Record<string, unknown>, retain: boolean): Promise<void> {
    await this.client!.publishAsync(`${this.base()}/${leaf}`, JSON.stringify({ ...this.env(), ...body }), { qos: 1, retain })
  }

  async start(report: { state: string; cmd: string | null; target: string | null; previous: string | null; reason: string | null } = { state: 'idle', cmd: null, target: null, previous: null, reason: null }): Promise<void> {
    this.boot = `${this.counter}b${this.boots++}${Date.now().toString(36)}`
    this.seq = 0
    const c = await connectAs(this.port, this.user, { clean: true })
    this.client = c
    c.on('message', (topic, payload) => {
      if (!topic.endsWith('/cmd/update')) return
      const cmd = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
      this.received.push(cmd)
      void this.update(cmd)
    })
    await c.subscribeAsync(`${this.base()}/cmd/+`, { qos: 1 })
    await this.pub('status', { online: true, version: this.version, board: 'sim-window', capabilities: ['display'] }, true)
    await this.publishState()
    await this.pub('update', { running: this.version, progress: null, ...report }, true)
  }

  /** The version an earlier update the stand-in plays (`report`) is installing, for its `busy` answer. */
  installing: string | null = null

  /** Publishes a retained `update` report as the board's installer would, e.g. an earlier rollout's install under way. */
  async report(fields: { running: string; state: string; target: string | null; previous: string | null; cmd: string | null; reason: string | null }): Promise<void> {
    this.version = fields.running
    await this.pub('update', { progress: null, ...fields }, true)
  }

  async setMode(mode: WindowMode): Promise<void> {
    this.mode = mode
    await this.publishState()
  }

  private async publishState(): Promise<void> {
    const { v: _v, id: _i, boot: _b, seq: _s, ts: _t, synced: _y, ...fields } = messageExamples.state
    const busy = this.mode === 'calling' || this.mode === 'serving' || this.mode === 'evaluating'
    await this.pub('state', { ...fields, mode: this.mode, ticket: busy ? fields.ticket : null, evaluation: null, window: { number: this.number, name: `${this.number}号窗口` } }, true)
  }

  private async update(cmd: Record<string, unknown>): Promise<void> {
    const id = cmd.id as string
    if (this.behaviour === 'busy') {
      await this.pub('reply', { cmd: id, name: 'update', ok: false, code: 'busy', message: `升级到 ${this.installing ?? '?'} 正在进行 / update ${this.installing ?? '?'} is already under way` }, false)
      return
    }
    await this.pub('reply', { cmd: id, name: 'update', ok: true }, false)
    if (this.behaviour === 'silent') return
    this.timeline.begin(this.counter)
    const manifest = JSON.parse(Buffer.from((cmd.release as { manifest: string }).manifest, 'base64').toString('utf8')) as { version: string; payload: { sha256: string } }
    const target = manifest.version
    const report = (state: string, extra: Record<string, unknown> = {}) => this.pub('update', { running: this.version, state, target, previous: null, cmd: id, reason: null, progress: null, ...extra }, true)
    await report('downloading')
    const res = await fetch(cmd.url as string, { headers: { authorization: `Basic ${Buffer.from(`${this.user.username}:${this.user.password}`).toString('base64')}` } })
    const body = Buffer.from(await res.arrayBuffer())
    if (res.status !== 200 || createHash('sha256').update(body).digest('hex') !== manifest.payload.sha256) {
      await report('failed', { reason: `download: HTTP ${res.status}` })
      this.timeline.end(this.counter)
      return
    }
    this.downloaded = body
    await report('verifying')
    await report('installing')
    await report('restarting')
    await this.pub('status', { online: false, reason: 'upgrade' }, true)
    await this.client!.endAsync()
    const old = this.version
    if (this.behaviour === 'install') {
      this.version = target
      await this.start({ state: 'confirming', cmd: id, target, previous: old, reason: null })
      await this.pub('update', { running: target, state: 'confirmed', target, previous: old, cmd: id, reason: null, progress: null }, true)
    } else {
      await this.start({ state: 'rolled-back', cmd: id, target, previous: null, reason: `${target} exited 3 times before it was online: Error: boom` })
    }
    this.timeline.end(this.counter)
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true)
  }
}
