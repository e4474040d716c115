/**
 * Board profiles: which adapter a board uses, its display (HT16K33 7- or
 * 14-segment on I2C, or MAX7219 on GPIO) with its bus and address or pins,
 * and every GPIO line by role. The runtime builds its devices from a
 * profile, and the simulator builds its virtual board from the same profile,
 * so the two always agree on wiring.
 *
 * Lines are named by gpiochip LABEL and offset, never by sysfs number: on
 * Raspberry Pi OS with kernel 6.6+ the sysfs base is no longer 0 (GPIO17 is
 * 529 on a Pi 4), and the Pi 5 renumbers its chips between kernel releases.
 */
import { readFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { z } from 'zod'
import { findSharedLines, profileLines } from './profile-lines.ts'
import { lineRefSchema, lineRefWith, modbusChip, type OfficerKey, type Score } from './line-ref.ts'
import { max7219MatrixDisplaySchema, officerPanelSchema, oledDisplaySchema } from './screen-schema.ts'
import { EVALUATION_SCORES, ID_PATTERN, OFFICER_KEYS, THREE_KEY_SCORES } from '../edge/protocol/index.ts'

export { lineRefSchema, type LineRef, type OfficerKey, type Score } from './line-ref.ts'

/** The keys a five-key evaluator adds to the three-key one: the contract's scores that are not three-key ones. */
const FIVE_KEY_EXTRAS = EVALUATION_SCORES.filter((s) => !(THREE_KEY_SCORES as readonly string[]).includes(s)) as Array<Exclude<Score, (typeof THREE_KEY_SCORES)[number]>>

const HT16K33_RANGE = 'HT16K33 地址须在 0x70..0x77 之间 / HT16K33 addresses are 0x70..0x77'

/** JSON has no hex literals; "0x70" reads better in a profile than 112. */
const i2cAddressSchema = z
  .union([
    z.number().int(),
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,2}$/, 'expected an address like "0x70"')
      .transform((s) => Number.parseInt(s, 16)),
  ])
  .pipe(z.number().int().min(0x70, HT16K33_RANGE).max(0x77, HT16K33_RANGE))

/** Every three-key score is required; the five-key extras come both or neither. */
const keysSchema = z
  .strictObject({
    ...(Object.fromEntries(THREE_KEY_SCORES.map((s) => [s, lineRefSchema])) as Record<(typeof THREE_KEY_SCORES)[number], typeof lineRefSchema>),
    ...(Object.fromEntries(FIVE_KEY_EXTRAS.map((s) => [s, lineRefSchema.optional()])) as Record<(typeof FIVE_KEY_EXTRAS)[number], z.ZodOptional<typeof lineRefSchema>>),
  })
  .refine((k) => new Set(FIVE_KEY_EXTRAS.map((s) => k[s] === undefined)).size === 1, {
    message: `the 5-level scale needs both ${FIVE_KEY_EXTRAS.join(' and ')}`,
    path: [FIVE_KEY_EXTRAS[0]!],
  })

const keyTimingSchema = z
  .strictObject({
    lockoutMs: z.number().int().min(5).max(500).default(40),
    stuckMs: z.number().int().min(1_000).default(15_000),
    /** Raw edges per second above which a key counts as chattering. */
    chatterEdges: z.number().int().min(4).default(20),
  })
  .prefault({})

const officerKeysSchema = z.strictObject(
  Object.fromEntries(OFFICER_KEYS.map((k) => [k, lineRefSchema.optional()])) as Record<
    OfficerKey,
    z.ZodOptional<typeof lineRefSchema>
  >,
)

/** Camera or fingerprint scanner: pulse `trigger`, then wait for `done` (docs/hardware.md §4.4). */
const triggerDoneSchema = z.strictObject({
  trigger: lineRefSchema,
  done: lineRefSchema,
  pulseMs: z.number().int().min(1).default(100),
  timeoutMs: z.number().int().min(100).default(10_000),
  /** Timeouts in a row that make the device's fault 'no-answer' (one may be an applicant who did nothing). */
  timeoutsToFault: z.number().int().min(1).max(100).default(3),
})

const brightnessSchema = z.number().int().min(0).max(15).default(15)

/**
 * An HT16K33 that resets while the bus is quiet comes back in standby and
 * still acknowledges every write (docs/hardware.md §4.2): its setup and RAM
 * are written again every this many ms (0 = only on changes), so an idle
 * display is dark for at most this long.
 */
const ht16k33RefreshSchema = z.number().int().min(0).default(5_000)

/** HT16K33 backpacks on I2C: the 4-digit 7-segment one, and the 4-character 14-segment one that shows every letter. */
const ht16k33DisplaySchema = z.strictObject({
  driver: z.literal('ht16k33'),
  address: i2cAddressSchema,
  digits: z.literal(4),
  brightness: brightnessSchema,
  refreshMs: ht16k33RefreshSchema,
})
const ht16k33AlphaDisplaySchema = z.strictObject({
  driver: z.literal('ht16k33-alpha'),
  address: i2cAddressSchema,
  digits: z.literal(4),
  brightness: brightnessSchema,
  refreshMs: ht16k33RefreshSchema,
})
/** MAX7219 on three GPIO lines (bit-banged by us, or by johnny-five over Firmata). */
const max7219DisplaySchema = z.strictObject({
  driver: z.literal('max7219'),
  digits: z.number().int().min(1).max(8),
  pins: z.strictObject({ din: lineRefSchema, clk: lineRefSchema, cs: lineRefSchema }),
  brightness: brightnessSchema,
  /**
   * A MAX7219 cannot be read back or NACK, so a module that lost power comes
   * back dark unless its state is written again: every this many ms (0 = never).
   */
  refreshMs: z.number().int().min(0).default(10_000),
  /**
   * The level shifter between a 3.3 V board and the 5 V MAX7219, whose
   * input-high level is 3.5 V (0.7 × V+): '74AHCT125 at 5 V', or 'none' for a
   * 5 V host such as an Arduino. Required for an 'onoff' board (3.3 V GPIO).
   */
  levelShifter: z.string().min(1).optional(),
})

export const DISPLAY_DRIVERS = ['ht16k33', 'ht16k33-alpha', 'max7219', 'max7219-matrix', 'ssd1306', 'sh1106'] as const
export type DisplayDriver = (typeof DISPLAY_DRIVERS)[number]

const displaySchema = z.discriminatedUnion(
  'driver',
  [ht16k33DisplaySchema, ht16k33AlphaDisplaySchema, max7219DisplaySchema, max7219MatrixDisplaySchema, oledDisplaySchema],
  { error: () => `display.driver must be one of ${DISPLAY_DRIVERS.map((d) => `'${d}'`).join(', ')}` },
)

/** The NVR samples its alarm input, so the contact must stay closed long enough to be seen. */
const relaySchema = lineRefWith({
  minHoldMs: z.number().int().min(0).default(1_000),
})

/**
 * Modbus RTU DI/DO modules on one RS-485 line (docs/hardware.md §7). Keys
 * are discrete inputs sampled every `pollMs`; lamps and the relay are coils.
 */
const modbusModuleSchema = z.strictObject({
  slave: z.number().int().min(1, 'Modbus slave addresses are 1..247').max(247, 'Modbus slave addresses are 1..247'),
  /** Discrete inputs the module has (read from 0 on every poll). */
  inputs: z.number().int().min(0).max(2000).default(8),
  /** Coils (relay outputs) the module has. */
  coils: z.number().int().min(0).max(1968).default(8),
  /** What it is, for people: 'Waveshare Modbus RTU IO 8CH under the desk'. */
  description: z.string().min(1).optional(),
})
export const modbusSchema = z.strictObject({
  /** The RS-485 serial device: '/dev/ttyUSB0' (a USB adapter), '/dev/ttyS1' (a UART in RS-485 mode); 'sim' in the simulator. */
  port: z.string().min(1),
  baudRate: z.number().int().min(1_200).max(115_200).default(9_600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /**
   * Every this many ms the discrete inputs are read. A key is a sample of
   * the line, so at most 1000 / pollMs edges a second can be seen: the
   * schema keeps that above keyTiming.chatterEdges, or a chattering key
   * could never be told.
   */
  pollMs: z.number().int().min(10).max(200).default(40),
  /** How long a module has to answer one request. */
  timeoutMs: z.number().int().min(10).max(2_000).default(100),
  /** Further tries after a timeout or a bad frame, before the module is at fault. */
  retries: z.number().int().min(0).max(5).default(1),
  /** Every this many ms the coils are read back and written again if a module lost them (a reset between two polls). */
  verifyMs: z.number().int().min(100).default(1_000),
  modules: z.array(modbusModuleSchema).min(1),
})
export type ModbusConfig = z.infer<typeof modbusSchema>

export const boardProfileSchema = z
  .strictObject({
    id: z.string().regex(ID_PATTERN, 'ids are [a-z0-9][a-z0-9-]{0,31}'),
    description: z.string().min(1),
    /**
     * 'onoff': the Linux board's own GPIO (sysfs through onoff, or the
     * character device: `gpio.backend`) + i2c-bus; 'johnny-five': a Firmata
     * board on `serialPort` (the portable window); 'sim': simulated.
     */
    adapter: z.enum(['sim', 'onoff', 'johnny-five']),
    /**
     * How a Linux board's GPIO is driven: 'sysfs' (onoff; the default, for
     * kernels that still have /sys/class/gpio) or 'chardev' (/dev/gpiochipN,
     * uAPI v2: bias and debounce requested, lines released by the kernel
     * when the runtime dies; docs/operations.md). The simulator takes either.
     */
    gpio: z.strictObject({ backend: z.enum(['sysfs', 'chardev']) }).optional(),
    /** The I2C bus (/dev/i2c-N) of an HT16K33 display; not needed for a MAX7219. */
    i2c: z.strictObject({ bus: z.number().int().min(0) }).optional(),
    /** The Firmata board's serial port, for the johnny-five adapter ('/dev/ttyACM0', '/dev/serial/by-id/…'). */
    serialPort: z.string().min(1).optional(),
    /** Modbus RTU modules on RS-485 holding keys, lamps or the relay (lines `modbus:<slave>/<di|coil>`). */
    modbus: modbusSchema.optional(),
    display: displaySchema,
    /** An OLED officer panel on the I2C bus (boards/screen-schema.ts). */
    officerPanel: officerPanelSchema.optional(),
    keys: keysSchema,
    keyTiming: keyTimingSchema,
    officerKeys: officerKeysSchema.optional(),
    outputs: z
      .strictObject({
        statusLamp: lineRefSchema.optional(),
        evaluatorLamp: lineRefSchema.optional(),
        nvrRelay: relaySchema.optional(),
      })
      .prefault({}),
    capture: z
      .strictObject({
        photo: triggerDoneSchema.optional(),
        fingerprint: triggerDoneSchema.optional(),
      })
      .optional(),
  })
  .superRefine((profile, ctx) => {
    if (profile.display.driver !== 'max7219' && profile.display.driver !== 'max7219-matrix' && profile.i2c === undefined) {
      ctx.addIssue({ code: 'custom', path: ['i2c'], message: `an ${profile.display.driver} display needs the I2C bus: "i2c": { "bus": 1 }` })
    }
    if (profile.officerPanel !== undefined && profile.i2c === undefined) {
      ctx.addIssue({ code: 'custom', path: ['i2c'], message: `the ${profile.officerPanel.driver} officer panel needs the I2C bus: "i2c": { "bus": 1 }` })
    }
    if (profile.officerPanel !== undefined && 'address' in profile.display && profile.display.address === profile.officerPanel.address) {
      ctx.addIssue({ code: 'custom', path: ['officerPanel', 'address'], message: `the display already answers at 0x${profile.officerPanel.address.toString(16)}: set the panel's address jumper to the other address` })
    }
    if (profile.adapter === 'johnny-five' && profile.serialPort === undefined) {
      ctx.addIssue({ code: 'custom', path: ['serialPort'], message: 'the johnny-five adapter needs the serial port of its Firmata board' })
    }
    if (profile.adapter !== 'johnny-five' && profile.serialPort !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['serialPort'], message: `only the johnny-five adapter uses a serial port, not '${profile.adapter}'` })
    }
    if (profile.adapter === 'johnny-five' && profile.display.driver !== 'max7219') {
      ctx.addIssue({
        code: 'custom',
        path: ['display', 'driver'],
        message: "the johnny-five adapter drives a MAX7219 (Firmata has no I2C error reporting, so an HT16K33 there could fail unseen); use 'onoff' for HT16K33 boards",
      })
    }
    if (profile.adapter === 'onoff' && (profile.display.driver === 'max7219' || profile.display.driver === 'max7219-matrix') && (profile.display.levelShifter ?? 'none') === 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['display', 'levelShifter'],
        message:
          "a 3.3 V GPIO is below the MAX7219's 3.5 V input-high level at 5 V: name the level shifter on DIN, CLK and LOAD (e.g. \"74AHCT125 at 5 V\")",
      })
    }
    checkModbusLines(profile, ctx)
    checkGpioBackend(profile, ctx)
    for (const line of profileLines(profile)) {
      if (modbusChip(line.ref.chip) !== undefined) continue
      if (line.direction !== 'out' || line.ref.bootPull === undefined || line.ref.bootPull === 'none') continue
      const idleRaw = (line.initial ?? 0) ^ (line.ref.activeLow ? 1 : 0)
      const bootRaw = line.ref.bootPull === 'up' ? 1 : 0
      if (idleRaw === bootRaw) continue
      ctx.addIssue({
        code: 'custom',
        path: [...line.path.split('.'), 'bootPull'],
        message: `${line.ref.chip}:${line.ref.offset} is pulled ${line.ref.bootPull} while the board boots, which is this ${line.ref.activeLow ? 'active-low' : 'active-high'} output's active level: it switches on at every boot. Choose a pin pulled ${idleRaw === 1 ? 'up' : 'down'} at reset, or wire the output ${line.ref.activeLow ? 'active high' : 'active low'}`,
      })
    }
    for (const clash of findSharedLines(profile)) {
      ctx.addIssue({
        code: 'custom',
        path: clash.path.split('.'),
        message: `${clash.chip}:${clash.offset} 已被 ${clash.firstPath} 占用 / ${clash.chip}:${clash.offset} is already used by ${clash.firstPath}`,
      })
    }
  })

/** The GPIO backend section, and what only the chardev backend can give (kernel debounce). */
function checkGpioBackend(profile: { adapter: string; gpio?: { backend: 'sysfs' | 'chardev' } | undefined } & Parameters<typeof profileLines>[0], ctx: z.RefinementCtx): void {
  if (profile.gpio !== undefined && profile.adapter === 'johnny-five') {
    ctx.addIssue({ code: 'custom', path: ['gpio'], message: "gpio.backend picks how a Linux board drives its own pins; the johnny-five adapter's pins are the Firmata board's" })
  }
  const backend = profile.gpio?.backend ?? 'sysfs'
  for (const line of profileLines(profile)) {
    if (line.ref.debounceUs === undefined) continue
    const path = [...line.path.split('.'), 'debounceUs']
    if (modbusChip(line.ref.chip) !== undefined) ctx.addIssue({ code: 'custom', path, message: 'a Modbus line is polled, not debounced by the kernel' })
    else if (line.direction !== 'in') ctx.addIssue({ code: 'custom', path, message: 'only inputs are debounced' })
    else if (backend !== 'chardev') ctx.addIssue({ code: 'custom', path, message: `kernel debounce needs "gpio": { "backend": "chardev" } (sysfs cannot ask for it)` })
  }
}

/**
 * Modbus lines: on a declared module, within its inputs or coils, inputs for
 * keys and coils for lamps and the relay; never the display's clocked pins or
 * a capture device's trigger and done (their timing is milliseconds, a poll's
 * is tens of them).
 */
function checkModbusLines(
  profile: { adapter: string; modbus?: ModbusConfig | undefined; keyTiming: { chatterEdges: number } } & Parameters<typeof profileLines>[0],
  ctx: z.RefinementCtx,
): void {
  const modules = new Map((profile.modbus?.modules ?? []).map((m) => [m.slave, m]))
  if (profile.modbus !== undefined && modules.size !== profile.modbus.modules.length) {
    ctx.addIssue({ code: 'custom', path: ['modbus', 'modules'], message: 'a slave address is declared twice' })
  }
  let any = false
  let inputs = false
  for (const line of profileLines(profile)) {
    const chip = modbusChip(line.ref.chip)
    if (chip === undefined) {
      if (line.ref.chip.startsWith('modbus')) {
        ctx.addIssue({ code: 'custom', path: line.path.split('.'), message: `'${line.ref.chip}' is not a Modbus line: use 'modbus:<slave>/di' or 'modbus:<slave>/coil'` })
      }
      continue
    }
    any = true
    const path = line.path.split('.')
    if (!line.path.startsWith('keys.') && !line.path.startsWith('officerKeys.') && !line.path.startsWith('outputs.')) {
      ctx.addIssue({ code: 'custom', path, message: 'only keys, lamps and the relay can be on a Modbus module: a poll every tens of ms is too slow for the display and capture lines' })
      continue
    }
    const want = line.direction === 'in' ? 'di' : 'coil'
    if (chip.kind !== want) {
      ctx.addIssue({ code: 'custom', path, message: `an ${line.direction === 'in' ? 'input' : 'output'} on Modbus is a ${want === 'di' ? 'discrete input' : 'coil'}: 'modbus:${chip.slave}/${want}'` })
      continue
    }
    if (line.direction === 'in') inputs = true
    const module = modules.get(chip.slave)
    if (module === undefined) {
      // Without a modbus section at all, the one issue below says so.
      if (profile.modbus !== undefined) ctx.addIssue({ code: 'custom', path, message: `no Modbus module ${chip.slave} in "modbus.modules"` })
      continue
    }
    const count = chip.kind === 'di' ? module.inputs : module.coils
    if (line.ref.offset >= count) {
      ctx.addIssue({ code: 'custom', path, message: `module ${chip.slave} has ${count} ${chip.kind === 'di' ? 'inputs' : 'coils'} (0..${count - 1}), not ${line.ref.offset}` })
    }
  }
  if (any && profile.modbus === undefined) ctx.addIssue({ code: 'custom', path: ['modbus'], message: 'the profile has Modbus lines: say on which port, "modbus": { "port": "/dev/ttyUSB0", "modules": [ … ] }' })
  if (any && profile.adapter === 'johnny-five') {
    ctx.addIssue({ code: 'custom', path: ['modbus'], message: "Modbus lines need the 'onoff' or 'sim' adapter: johnny-five owns every line it is given" })
  }
  if (profile.modbus !== undefined && profile.adapter === 'johnny-five' && profile.modbus.port === (profile as { serialPort?: string }).serialPort) {
    ctx.addIssue({ code: 'custom', path: ['modbus', 'port'], message: 'the Modbus line and the Firmata board cannot share one serial port' })
  }
  if (inputs && profile.modbus !== undefined && profile.keyTiming.chatterEdges >= 1000 / profile.modbus.pollMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['modbus', 'pollMs'],
      message: `keys sampled every ${profile.modbus.pollMs} ms show at most ${Math.floor(1000 / profile.modbus.pollMs)} edges a second, not more than keyTiming.chatterEdges (${profile.keyTiming.chatterEdges}): a chattering key would never be told; poll faster`,
    })
  }
}

export type BoardProfile = z.infer<typeof boardProfileSchema>
export type DisplayConfig = BoardProfile['display']

/** The display's I2C address, for the drivers that have one. */
export function displayI2cAddress(profile: Pick<BoardProfile, 'display'>): number | undefined {
  return 'address' in profile.display ? profile.display.address : undefined
}
/** What a profile file may contain (defaults not yet applied). */
export type BoardProfileInput = z.input<typeof boardProfileSchema>

export class BoardProfileError extends Error {
  override readonly name = 'BoardProfileError'
  readonly file: string
  readonly problems: readonly string[]
  /** Set when a profile named by id has no file in the folder: the CLI lists the ids there, the nearest first. */
  readonly missing: { id: string; dir: string } | undefined

  constructor(file: string, problems: readonly string[], missing?: { id: string; dir: string }) {
    super(`${file}: 板型文件无效 / invalid board profile\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.file = file
    this.problems = problems
    this.missing = missing
  }
}

/** Validates parsed JSON; `source` names the file in errors. */
export function parseBoardProfile(json: unknown, source: string): BoardProfile {
  const result = boardProfileSchema.safeParse(json)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)'
    return `${where}: ${issue.message}`
  })
  throw new BoardProfileError(source, problems)
}

/**
 * Loads `<dir>/<id>.json`, or the file at a path (anything with a slash or
 * ending in .json). A profile loaded by id must carry that id, so a copied
 * file that was not renamed inside cannot pose as another board. `dir` is
 * the package's boards folder (BOARDS_DIR in edge/shared/package-root.ts):
 * bundled, this code runs from dist/ and cannot find it from here.
 */
export async function loadBoardProfile(pathOrId: string, dir: string): Promise<BoardProfile> {
  const byPath = pathOrId.includes('/') || pathOrId.endsWith('.json')
  const file = byPath
    ? isAbsolute(pathOrId)
      ? pathOrId
      : resolve(pathOrId)
    : join(dir, `${pathOrId}.json`)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'ENOENT' && !byPath) {
      throw new BoardProfileError(file, [`没有板型 '${pathOrId}'（${dirname(file)} 中）/ no board profile '${pathOrId}' in ${dirname(file)}`], { id: pathOrId, dir: dirname(file) })
    }
    throw new BoardProfileError(file, [`无法读取 / cannot read: ${(err as Error).message}`])
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new BoardProfileError(file, [`不是有效的 JSON / not valid JSON: ${(err as Error).message}`])
  }
  const profile = parseBoardProfile(json, file)
  if (!byPath && profile.id !== pathOrId) {
    throw new BoardProfileError(file, [`id: '${profile.id}' 与文件名 '${basename(file)}' 不符 / '${profile.id}' does not match the file name '${basename(file)}'`])
  }
  return profile
}
