/**
 * Lines on Modbus DI/DO modules as GPIO lines (docs/hardware.md §7), so keys,
 * lamps and the relay run their usual drivers on them: a line on chip
 * `modbus:<slave>/di` is a discrete input, on `modbus:<slave>/coil` a coil.
 *
 * Inputs are sampled: every `pollMs` each module's inputs are read (0x02)
 * and a change of a watched input is an edge, timed when the answer came.
 * Sampling is itself a debounce of contact bounce shorter than a period,
 * and a tap shorter than one period can be missed (a press is 80 ms and
 * more). The key driver's lockout and chatter rules apply to the samples.
 *
 * Coils: a write is a write single coil (0x05). The backend keeps each
 * module's coil image, what was last written successfully (a failed write
 * leaves the coil as it was, as a GPIO pin keeps its level), writes the whole
 * image (0x0F) to a module that answers again after failing or at its first
 * answer, and every `verifyMs` reads the coils back (0x01) and rewrites them
 * if the module lost them (a reset between two polls).
 *
 * Health: each module is a device of its own, `modbus-<slave>`: 'absent'
 * (never answered), 'unreachable' (answered before, now does not), 'crc'
 * (garbled answers), 'exception' (the module refused a request), 'io' (the
 * serial port failed); cleared when it answers again. While its inputs
 * cannot be read, reads of them fail, and a coil write that fails fails its
 * line, so its keys, lamps and relay report 'io' as on any line (a coil the
 * module refuses leaves its inputs readable). The first read of an input whose
 * module has not answered yet reads idle, so the board comes up without it,
 * as it does without its display.
 */
import type { Logger } from 'pino'
import { modbusChip } from '../../boards/line-ref.ts'
import type { DeviceHealthSink } from '../devices/device-health.ts'
import type { GpioBackend, GpioLine, Level, LineSpec } from './gpio-port.ts'
import { isLevel } from './gpio-port.ts'
import { ModbusError, type ModbusRtuMaster } from './modbus-master.ts'

export interface ModbusModuleSpec {
  slave: number
  inputs: number
  coils: number
}

export interface ModbusGpioBackendOptions {
  master: ModbusRtuMaster
  modules: readonly ModbusModuleSpec[]
  pollMs: number
  verifyMs: number
  /** How often a module that does not answer is tried again (once, no retries); default 500 ms. */
  failedPollMs?: number
  now?: () => number
  log?: Logger
}

export function modbusDeviceName(slave: number): string {
  return `modbus-${slave}`
}

function lineError(message: string, cause?: unknown): Error & { code: string } {
  return Object.assign(new Error(`EIO: ${message}`, cause !== undefined ? { cause } : undefined), { code: 'EIO' })
}

function specError(message: string): Error & { code: string } {
  return Object.assign(new Error(`EINVAL: ${message}`), { code: 'EINVAL' })
}

const toRaw = (v: Level, activeLow: boolean | undefined): Level => (activeLow ? ((1 - v) as Level) : v)

class ModuleState {
  readonly device: string
  /** Last inputs read; undefined until the first answer. */
  inputs: Array<0 | 1> | undefined
  /** Coils as last written successfully (raw levels). */
  readonly coils: Array<0 | 1>
  readonly inputLines = new Set<ModbusLine>()
  readonly coilLines = new Set<ModbusLine>()
  /** Single-coil writes asked for and not yet answered: offset → level. */
  readonly writing = new Map<number, 0 | 1>()
  answered = false
  failure: ModbusError | undefined
  /** Why the last read of the inputs failed; a coil refused (exception 04) leaves the inputs readable. */
  inputFailure: ModbusError | undefined
  /** The whole coil image goes out at the next poll: at the first answer, after a failure, after a lost readback. */
  rewrite = true
  lastVerify = -Infinity
  nextTry = -Infinity
  /** Settles when the module has been asked once (answered or not): what the first open of an input waits for. */
  readonly firstPoll: Promise<void>
  settleFirstPoll!: () => void

  constructor(readonly spec: ModbusModuleSpec) {
    this.device = modbusDeviceName(spec.slave)
    this.coils = Array.from({ length: spec.coils }, () => 0 as const)
    this.firstPoll = new Promise((resolve) => (this.settleFirstPoll = resolve))
  }

  get inUse(): boolean {
    return this.inputLines.size > 0 || this.coilLines.size > 0
  }
}

export class ModbusGpioBackend implements GpioBackend {
  private readonly master: ModbusRtuMaster
  private readonly modules = new Map<number, ModuleState>()
  private readonly pollMs: number
  private readonly verifyMs: number
  private readonly failedPollMs: number
  private readonly now: () => number
  private readonly log: Logger | undefined
  private health: DeviceHealthSink | undefined
  private timer: NodeJS.Timeout | undefined
  private cycle: Promise<void> | undefined
  private running = false
  /** The master starts with the first line opened and stops with the backend. */
  private masterStarted: Promise<void> | undefined

  constructor(opts: ModbusGpioBackendOptions) {
    this.master = opts.master
    this.pollMs = opts.pollMs
    this.verifyMs = opts.verifyMs
    this.failedPollMs = opts.failedPollMs ?? 500
    this.now = opts.now ?? (() => Date.now())
    this.log = opts.log
    for (const m of opts.modules) this.modules.set(m.slave, new ModuleState(m))
  }

  attachHealth(health: DeviceHealthSink): void {
    this.health = health
    for (const m of this.modules.values()) health.register(m.device)
  }

  async open(spec: LineSpec): Promise<GpioLine> {
    const chip = spec.chip !== undefined ? modbusChip(spec.chip) : undefined
    if (chip === undefined) throw specError(`line '${spec.name}': chip '${spec.chip ?? ''}' is not a Modbus line ('modbus:<slave>/di' or 'modbus:<slave>/coil')`)
    const module = this.modules.get(chip.slave)
    if (module === undefined) throw specError(`line '${spec.name}': no Modbus module ${chip.slave} on ${this.master.line.path}`)
    const want = spec.direction === 'in' ? 'di' : 'coil'
    if (chip.kind !== want) throw specError(`line '${spec.name}': an ${spec.direction}put cannot be a Modbus ${chip.kind}`)
    const count = chip.kind === 'di' ? module.spec.inputs : module.spec.coils
    if (spec.offset >= count) throw specError(`line '${spec.name}': module ${chip.slave} has ${count} ${chip.kind === 'di' ? 'inputs' : 'coils'}, not ${spec.offset}`)
    const lines = chip.kind === 'di' ? module.inputLines : module.coilLines
    if ([...lines].some((l) => l.offset === spec.offset)) throw Object.assign(new Error(`EBUSY: line '${spec.name}' is already open`), { code: 'EBUSY' })
    if (spec.initial !== undefined && !isLevel(spec.initial)) throw specError(`line '${spec.name}': initial level must be 0 or 1`)
    await (this.masterStarted ??= this.master.start())
    const line = new ModbusLine(spec, module, this)
    lines.add(line)
    if (chip.kind === 'coil') {
      module.coils[spec.offset] = toRaw(spec.initial ?? 0, spec.activeLow)
      module.rewrite = true
    }
    this.ensureRunning()
    if (chip.kind === 'di') await module.firstPoll
    return line
  }

  async stop(): Promise<void> {
    for (const m of this.modules.values()) for (const l of [...m.inputLines, ...m.coilLines]) await l.close()
    this.halt()
    await this.cycle
    if (this.masterStarted !== undefined) {
      this.masterStarted = undefined
      await this.master.stop()
    }
  }

  /** @internal the line's write: one write single coil, fast-failing while the module is gone. */
  async writeCoil(module: ModuleState, line: ModbusLine, raw: Level): Promise<void> {
    module.writing.set(line.offset, raw)
    try {
      await this.master.writeSingleCoil(module.spec.slave, line.offset, raw === 1, module.failure ? { retries: 0 } : {})
    } catch (err) {
      if (!(err instanceof ModbusError)) throw err
      this.failed(module, err)
      throw lineError(`line '${line.name}' (module ${module.spec.slave} coil ${line.offset}): ${err.message}`, err)
    } finally {
      if (module.writing.get(line.offset) === raw) module.writing.delete(line.offset)
    }
    module.coils[line.offset] = raw
  }

  /** @internal a closed line leaves the backend; the last one stops the polling. */
  release(module: ModuleState, line: ModbusLine): void {
    module.inputLines.delete(line)
    module.coilLines.delete(line)
    if (![...this.modules.values()].some((m) => m.inUse)) this.halt()
  }

  private ensureRunning(): void {
    if (this.running) return
    this.running = true
    this.schedule(0)
  }

  private halt(): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      const started = this.now()
      this.cycle = this.pollAll().finally(() => {
        this.cycle = undefined
        // Fixed rate: the next cycle starts pollMs after this one started, or at once when it ran long.
        if (this.running) this.schedule(Math.max(0, started + this.pollMs - this.now()))
      })
    }, ms)
  }

  private async pollAll(): Promise<void> {
    for (const m of this.modules.values()) {
      if (!this.running) return
      if (!m.inUse) continue
      await this.poll(m).catch((err: unknown) => this.log?.error({ slave: m.spec.slave, err }, 'modbus poll failed unexpectedly'))
    }
  }

  private async poll(m: ModuleState): Promise<void> {
    const now = this.now()
    if (m.failure !== undefined && now < m.nextTry) return
    const verifyDue = m.coilLines.size > 0 && now - m.lastVerify >= this.verifyMs
    // A module with coils only is asked only when its readback is due.
    if (m.inputLines.size === 0 && !m.rewrite && !verifyDue && m.failure === undefined) return
    const opts = m.failure !== undefined ? { retries: 0 } : {}
    const slave = m.spec.slave
    let readingInputs = false
    try {
      if (m.spec.inputs > 0 && (m.inputLines.size > 0 || m.coilLines.size === 0)) {
        readingInputs = true
        const inputs = await this.master.readDiscreteInputs(slave, 0, m.spec.inputs, opts)
        readingInputs = false
        m.inputFailure = undefined
        this.sampled(m, inputs)
      }
      if (m.coilLines.size > 0 && !m.rewrite && verifyDue) {
        const coils = await this.master.readCoils(slave, 0, m.spec.coils, opts)
        m.lastVerify = this.now()
        const lost = [...m.coilLines].filter((l) => coils[l.offset] !== m.coils[l.offset])
        if (lost.length > 0) {
          this.log?.warn({ slave, lines: lost.map((l) => l.name) }, 'modbus module lost its coils; writing them again')
          m.rewrite = true
        }
      }
      if (m.coilLines.size > 0 && m.rewrite) {
        // Queued behind any single-coil write already asked for: the image carries those levels, or
        // it would undo them (a relay closed at start would open again for a moment).
        await this.master.writeMultipleCoils(slave, 0, m.coils.map((v, i) => m.writing.get(i) ?? v), opts)
        m.rewrite = false
        m.lastVerify = this.now()
      }
      this.answered(m)
    } catch (err) {
      if (!(err instanceof ModbusError)) throw err
      if (readingInputs) m.inputFailure = err
      this.failed(m, err)
    } finally {
      m.settleFirstPoll()
    }
  }

  private sampled(m: ModuleState, inputs: Array<0 | 1>): void {
    const before = m.inputs
    m.inputs = inputs
    for (const line of m.inputLines) line.sample(inputs[line.offset]!, before?.[line.offset])
  }

  private answered(m: ModuleState): void {
    if (m.answered && m.failure === undefined) return
    if (m.failure !== undefined) this.log?.info({ slave: m.spec.slave }, 'modbus module answers again')
    m.answered = true
    m.failure = undefined
    this.health?.report(m.device, null)
  }

  private failed(m: ModuleState, err: ModbusError): void {
    const first = m.failure === undefined
    m.failure = err
    m.nextTry = this.now() + this.failedPollMs
    // Whatever the module held, it may have lost: a module that answers again gets its whole image.
    m.rewrite = true
    const code = faultCode(err, m.answered)
    if (first) this.log?.warn({ slave: m.spec.slave, code, err: err.message }, 'modbus module at fault')
    this.health?.report(m.device, { code, message: `${err.message} on ${this.master.line.path}`.slice(0, 200) })
  }

  /** @internal why a line's inputs cannot be read now, if they cannot. */
  readable(m: ModuleState): ModbusError | undefined {
    return m.inputFailure
  }
}

function faultCode(err: ModbusError, answeredBefore: boolean): string {
  switch (err.kind) {
    case 'timeout':
      return answeredBefore ? 'unreachable' : 'absent'
    case 'crc':
    case 'mismatch':
      return 'crc'
    case 'exception':
      return 'exception'
    case 'io':
      return 'io'
  }
}

class ModbusLine implements GpioLine {
  readonly name: string
  readonly offset: number
  private readonly spec: LineSpec
  private readonly module: ModuleState
  private readonly backend: ModbusGpioBackend
  private readonly watchers = new Set<(v: Level) => void>()
  private readCount = 0
  private closed = false

  constructor(spec: LineSpec, module: ModuleState, backend: ModbusGpioBackend) {
    this.name = spec.name
    this.offset = spec.offset
    this.spec = spec
    this.module = module
    this.backend = backend
  }

  async read(): Promise<Level> {
    this.check('read')
    const first = this.readCount++ === 0
    const failure = this.backend.readable(this.module)
    if (this.spec.direction === 'out') return toRaw(this.module.coils[this.offset]!, this.spec.activeLow)
    if (this.module.inputs === undefined || failure !== undefined) {
      if (first && this.module.inputs === undefined) return 0
      throw lineError(`line '${this.name}' (module ${this.module.spec.slave} input ${this.offset}): ${failure?.message ?? 'the module has not answered yet'}`, failure)
    }
    return toRaw(this.module.inputs[this.offset]!, this.spec.activeLow)
  }

  async write(v: Level): Promise<void> {
    this.check('write')
    if (!isLevel(v)) throw new TypeError(`line '${this.name}': level must be 0 or 1, got ${String(v)}`)
    if (this.spec.direction !== 'out') throw Object.assign(new Error(`EPERM: operation not permitted, write (line '${this.name}' is an input)`), { code: 'EPERM' })
    await this.backend.writeCoil(this.module, this, toRaw(v, this.spec.activeLow))
  }

  watch(cb: (v: Level) => void): () => void {
    this.check('watch')
    const edge = this.spec.edge ?? 'none'
    if (this.spec.direction !== 'in' || edge === 'none') {
      throw specError(`line '${this.name}' has no edge to watch (direction ${this.spec.direction}, edge ${edge})`)
    }
    this.watchers.add(cb)
    return () => this.watchers.delete(cb)
  }

  /** An output goes back to how the module rests, coil off (best effort: a module that is gone cannot be told). */
  async close(): Promise<void> {
    if (this.closed) return
    if (this.spec.direction === 'out' && this.module.coils[this.offset] !== 0) {
      await this.backend.writeCoil(this.module, this, 0).catch(() => undefined)
    }
    this.closed = true
    this.watchers.clear()
    this.backend.release(this.module, this)
  }

  /** A new sample of the input; an edge when it differs from the one before. */
  sample(raw: 0 | 1, before: 0 | 1 | undefined): void {
    if (before === undefined || raw === before) return
    const v = toRaw(raw, this.spec.activeLow)
    const edge = this.spec.edge ?? 'none'
    if (edge === 'both' || (edge === 'rising' && v === 1) || (edge === 'falling' && v === 0)) for (const cb of [...this.watchers]) cb(v)
  }

  private check(op: string): void {
    if (this.closed) throw Object.assign(new Error(`EBADF: line '${this.name}' is closed (${op})`), { code: 'EBADF' })
  }
}
