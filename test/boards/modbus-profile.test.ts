import { describe, expect, it } from 'vitest'
import { profileLines } from '../../boards/profile-lines.ts'
import { BoardProfileError, loadBoardProfile, parseBoardProfile, type BoardProfileInput } from '../../boards/profile-schema.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const gpio = (offset: number) => ({ chip: 'sim-gpio', offset, activeLow: true })

function modbusBoard(): Record<string, unknown> {
  return {
    id: 'mb-board',
    description: 'keys and relay on a Modbus module',
    adapter: 'sim',
    i2c: { bus: 1 },
    modbus: { port: '/dev/ttyUSB0', modules: [{ slave: 3, inputs: 4, coils: 2 }] },
    display: { driver: 'ht16k33', address: '0x70', digits: 4 },
    keys: { satisfied: 'modbus:3/di/0', neutral: 'modbus:3/di/1', dissatisfied: { chip: 'modbus:3/di', offset: 2, activeLow: true } },
    outputs: { nvrRelay: 'modbus:3/coil/0', statusLamp: gpio(26) },
  }
}

function problems(json: unknown): string[] {
  try {
    parseBoardProfile(json, 'boards/mb-board.json')
  } catch (err) {
    expect(err).toBeInstanceOf(BoardProfileError)
    return [...(err as BoardProfileError).problems]
  }
  throw new Error('expected the profile to be refused')
}

const with_ = (patch: (p: Record<string, any>) => void) => {
  const p = modbusBoard() as Record<string, any>
  patch(p)
  return p as BoardProfileInput
}

describe('Modbus lines in a board profile', () => {
  it('takes the short form and the object form, with the line defaults and the relay hold time', () => {
    const p = parseBoardProfile(modbusBoard(), 'x')
    expect(p.modbus).toEqual({ port: '/dev/ttyUSB0', baudRate: 9600, parity: 'none', stopBits: 1, pollMs: 40, timeoutMs: 100, retries: 1, verifyMs: 1000, modules: [{ slave: 3, inputs: 4, coils: 2 }] })
    expect(p.keys.satisfied).toEqual({ chip: 'modbus:3/di', offset: 0, activeLow: false })
    expect(p.outputs.nvrRelay).toEqual({ chip: 'modbus:3/coil', offset: 0, activeLow: false, minHoldMs: 1000 })
    const relay = profileLines(p).find((l) => l.name === 'nvr-relay')!
    expect(lineSpecFor(relay)).toMatchObject({ chip: 'modbus:3/coil', offset: 0, direction: 'out', initial: 0 })
  })

  it('names what is wrong: an unknown module, a coil for a key, a number beyond the module, a bad short form', () => {
    expect(problems(with_((p) => (p.keys.satisfied = 'modbus:4/di/0')))).toEqual(['keys.satisfied: no Modbus module 4 in "modbus.modules"'])
    expect(problems(with_((p) => (p.keys.satisfied = 'modbus:3/coil/1')))).toEqual(["keys.satisfied: an input on Modbus is a discrete input: 'modbus:3/di'"])
    expect(problems(with_((p) => (p.outputs.nvrRelay = 'modbus:3/di/3')))).toEqual(["outputs.nvrRelay: an output on Modbus is a coil: 'modbus:3/coil'"])
    expect(problems(with_((p) => (p.keys.neutral = 'modbus:3/di/4')))).toEqual(['keys.neutral: module 3 has 4 inputs (0..3), not 4'])
    expect(problems(with_((p) => (p.keys.neutral = 'modbus:3/input/1')))).toEqual([expect.stringMatching(/^keys\.neutral: "modbus:3\/input\/1" is not a line: use .* or "modbus:<slave>\/<di\|coil>\/<n>"/)])
    expect(problems(with_((p) => (p.keys.neutral = { chip: 'modbus:3', offset: 1 })))).toEqual([expect.stringMatching(/^keys\.neutral: 'modbus:3' is not a Modbus line/)])
    expect(problems(with_((p) => (p.keys.neutral = 'modbus:3/di/0')))).toEqual(['keys.neutral: modbus:3/di:0 已被 keys.satisfied 占用 / modbus:3/di:0 is already used by keys.satisfied'])
  })

  it('needs the modbus section for Modbus lines, and a distinct address per module', () => {
    expect(problems(with_((p) => delete p.modbus))).toEqual([expect.stringMatching(/^modbus: the profile has Modbus lines: say on which port/)])
    expect(problems(with_((p) => p.modbus.modules.push({ slave: 3 })))).toEqual(['modbus.modules: a slave address is declared twice'])
    expect(problems(with_((p) => (p.modbus.modules[0].slave = 248)))).toContain('modbus.modules.0.slave: Modbus slave addresses are 1..247')
  })

  it('keeps the display and capture lines off Modbus: a poll is too slow for them', () => {
    const p = with_((p) => (p.capture = { photo: { trigger: 'modbus:3/coil/1', done: 'modbus:3/di/3' } }))
    expect(problems(p)).toEqual([
      expect.stringMatching(/^capture\.photo\.trigger: only keys, lamps and the relay can be on a Modbus module/),
      expect.stringMatching(/^capture\.photo\.done: only keys, lamps and the relay/),
    ])
  })

  it('refuses a poll too slow to tell a chattering key', () => {
    expect(problems(with_((p) => (p.modbus.pollMs = 50)))).toEqual([
      'modbus.pollMs: keys sampled every 50 ms show at most 20 edges a second, not more than keyTiming.chatterEdges (20): a chattering key would never be told; poll faster',
    ])
    expect(() => parseBoardProfile(with_((p) => Object.assign(p, { keyTiming: { chatterEdges: 10 }, modbus: { ...p.modbus, pollMs: 50 } })), 'x')).not.toThrow()
  })

  it('keeps gpiochip offsets to 0..511 and refuses Modbus lines on johnny-five', () => {
    expect(problems(with_((p) => (p.outputs.statusLamp = { chip: 'sim-gpio', offset: 600 })))).toEqual(["outputs.statusLamp.offset: offset 600 is beyond a gpiochip's 0..511"])
    const j5 = with_((p) => Object.assign(p, { adapter: 'johnny-five', serialPort: '/dev/ttyACM0', display: { driver: 'max7219', digits: 8, pins: { din: gpio(12), clk: gpio(11), cs: gpio(10) } } }))
    expect(problems(j5)).toContain("modbus: Modbus lines need the 'onoff' or 'sim' adapter: johnny-five owns every line it is given")
  })

  it('the shipped sim-window-modbus profile puts the keys, the evaluator lamp and the relay on module 1', async () => {
    const p = await loadBoardProfile('sim-window-modbus', BOARDS_DIR)
    const onModbus = profileLines(p).filter((l) => l.ref.chip.startsWith('modbus:')).map((l) => `${l.name}=${l.ref.chip}/${l.ref.offset}`)
    expect(onModbus).toEqual([
      'satisfied=modbus:1/di/0',
      'neutral=modbus:1/di/1',
      'dissatisfied=modbus:1/di/2',
      'officer-call-next=modbus:1/di/3',
      'officer-recall=modbus:1/di/4',
      'evaluator-lamp=modbus:1/coil/1',
      'nvr-relay=modbus:1/coil/0',
    ])
  })
})
