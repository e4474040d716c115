import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { profileLines } from '../../boards/profile-lines.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import {
  BoardProfileError,
  displayI2cAddress,
  loadBoardProfile,
  parseBoardProfile,
  type BoardProfileInput,
} from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const SHIPPED = readdirSync(BOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort()

const line = (offset: number, activeLow = true) => ({ chip: 'sim-gpio', offset, activeLow })

function max7219Board(): BoardProfileInput {
  return {
    id: 'max-board',
    description: 'a MAX7219 board',
    adapter: 'sim',
    display: { driver: 'max7219', digits: 8, pins: { din: line(10, false), clk: line(11, false), cs: line(8, false) } },
    keys: { satisfied: line(5), neutral: line(6), dissatisfied: line(13) },
  }
}

function problems(json: unknown): string[] {
  try {
    parseBoardProfile(json, 'boards/x.json')
  } catch (err) {
    expect(err).toBeInstanceOf(BoardProfileError)
    return [...(err as BoardProfileError).problems]
  }
  throw new Error('expected the profile to be refused')
}

describe('the shipped board profiles', () => {
  it('cover the boards halls buy', () => {
    expect(SHIPPED).toEqual(
      expect.arrayContaining([
        'rpi4-ht16k33',
        'rpi5-ht16k33-alpha',
        'orangepi-zero2-max7219',
        'beaglebone-black-ht16k33',
        'firmata-uno-max7219',
        'sim-window',
        'sim-window-modbus',
        'rpi4-max7219-matrix',
        'sim-window-matrix',
      ]),
    )
  })

  it.each(SHIPPED.filter((id) => !id.startsWith('sim-')))(
    '%s names its adapter, display, 3 or 5 evaluator keys, officer keys, both capture devices, the NVR relay and the status light',
    async (id) => {
      const p = await loadBoardProfile(id, BOARDS_DIR)
      expect(['onoff', 'johnny-five']).toContain(p.adapter)
      expect([3, 5]).toContain(Object.keys(p.keys).length)
      expect(Object.keys(p.officerKeys ?? {}).length).toBeGreaterThanOrEqual(2)
      expect(p.capture?.photo?.trigger).toBeDefined()
      expect(p.capture?.photo?.done).toBeDefined()
      expect(p.capture?.fingerprint?.trigger).toBeDefined()
      expect(p.capture?.fingerprint?.done).toBeDefined()
      expect(p.outputs.nvrRelay?.minHoldMs).toBeGreaterThanOrEqual(500)
      expect(p.outputs.statusLamp).toBeDefined()
      if (p.display.driver === 'max7219' || p.display.driver === 'max7219-matrix') expect(p.display.pins).toBeDefined()
      else expect(p.i2c?.bus).toBeGreaterThanOrEqual(0)
    },
  )

  it('finds the Pi 5 header on the RP1, by label', async () => {
    const p = await loadBoardProfile('rpi5-ht16k33-alpha', BOARDS_DIR)
    expect(new Set(profileLines(p).map((l) => l.ref.chip))).toEqual(new Set(['pinctrl-rp1']))
    expect(p.display).toMatchObject({ driver: 'ht16k33-alpha', address: 0x70 })
    expect(Object.keys(p.keys)).toHaveLength(5)
    expect(p.outputs.nvrRelay).toMatchObject({ offset: 4, activeLow: true })
  })

  it('numbers the Orange Pi pins bank*32+pin on the H616 controller', async () => {
    const p = await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR)
    const pins = p.display.driver === 'max7219' ? p.display.pins : undefined
    expect(pins?.din).toMatchObject({ chip: '300b000.pinctrl', offset: 2 * 32 + 6 }) // PC6
    expect(p.outputs.nvrRelay).toMatchObject({ offset: 7 * 32 + 8 }) // PH8
    expect(p.i2c).toBeUndefined()
  })

  it('names the BeagleBone banks by their parent device, and says why not by label', async () => {
    const p = await loadBoardProfile('beaglebone-black-ht16k33', BOARDS_DIR)
    expect(new Set(profileLines(p).map((l) => l.ref.chip))).toEqual(new Set(['44e07000.gpio', '4804c000.gpio', '481ac000.gpio']))
    expect(p.description).toMatch(/parent device/)
    expect(p.description).toMatch(/probe order/)
    expect(p.i2c?.bus).toBe(2)
  })

  it('keeps the BeagleBone outputs off the pins the AM335x pulls up at reset (issue 19.7)', async () => {
    const p = await loadBoardProfile('beaglebone-black-ht16k33', BOARDS_DIR)
    // GPIO1_28 (P9_12) and GPIO2_2..2_5 (P8_07..P8_10) come up pulled high while the board boots.
    const pulledUpAtReset = new Set(['4804c000.gpio:28', '481ac000.gpio:2', '481ac000.gpio:3', '481ac000.gpio:4', '481ac000.gpio:5'])
    const outputs = profileLines(p).filter((l) => l.direction === 'out')
    expect(outputs.map((l) => l.name).sort()).toEqual(['evaluator-lamp', 'fingerprint-trigger', 'nvr-relay', 'photo-trigger', 'status-lamp'])
    for (const out of outputs) {
      expect(pulledUpAtReset.has(`${out.ref.chip}:${out.ref.offset}`), out.name).toBe(false)
      expect(out.ref).toMatchObject({ activeLow: false, bootPull: 'down' })
    }
  })
})

describe('profile lint: what a board does while it boots, and the logic levels it drives', () => {
  it.each(SHIPPED.filter((id) => !id.startsWith('sim-')))('%s states the boot pull of every output', async (id) => {
    const p = await loadBoardProfile(id, BOARDS_DIR)
    const unstated = profileLines(p).filter((l) => l.direction === 'out' && l.ref.bootPull === undefined)
    expect(unstated.map((l) => l.path)).toEqual([])
  })

  it.each(SHIPPED.filter((id) => !id.startsWith('sim-')))('%s names how a MAX7219 display gets its logic levels', async (id) => {
    const p = await loadBoardProfile(id, BOARDS_DIR)
    if (p.display.driver !== 'max7219' && p.display.driver !== 'max7219-matrix') return
    expect(p.display.levelShifter).toBeDefined()
    if (p.adapter === 'onoff') expect(p.display.levelShifter).toMatch(/AHCT|HCT/)
  })

  it('refuses an active-high output on a pin pulled up while the board boots, and an active-low one pulled down', () => {
    const board = max7219Board()
    expect(problems({ ...board, outputs: { nvrRelay: { ...line(21, false), bootPull: 'up' } } })).toEqual([
      expect.stringMatching(/^outputs\.nvrRelay\.bootPull: sim-gpio:21 is pulled up while the board boots, which is this active-high output's active level.*pulled down at reset/),
    ])
    expect(problems({ ...board, outputs: { statusLamp: { ...line(26, true), bootPull: 'down' } } })).toEqual([
      expect.stringMatching(/^outputs\.statusLamp\.bootPull: .*active-low output's active level/),
    ])
    const ok = parseBoardProfile({ ...board, outputs: { nvrRelay: { ...line(21, true), bootPull: 'up' }, statusLamp: { ...line(26, false), bootPull: 'down' } } }, 'x')
    expect(ok.outputs.nvrRelay).toMatchObject({ activeLow: true, bootPull: 'up' })
  })

  it('refuses a MAX7219 on 3.3 V GPIO with no level shifter named (issue 19.6)', () => {
    const board = max7219Board()
    const onoff = { ...board, adapter: 'onoff' as const }
    expect(problems(onoff)).toEqual([expect.stringMatching(/^display\.levelShifter: a 3\.3 V GPIO is below the MAX7219's 3\.5 V input-high level/)])
    expect(problems({ ...onoff, display: { ...board.display, levelShifter: 'none' } })).toHaveLength(1)
    const shifted = parseBoardProfile({ ...onoff, display: { ...board.display, levelShifter: '74AHCT125 at 5 V' } }, 'x')
    expect(shifted.display).toMatchObject({ levelShifter: '74AHCT125 at 5 V' })
  })
})

describe('pixel screens in a profile (issue 17)', () => {
  const matrix = () => ({ ...max7219Board(), display: { driver: 'max7219-matrix', modulesWide: 8, modulesHigh: 2, pins: { din: line(10, false), clk: line(11, false), cs: line(8, false) } } })

  it('the Pi 4 window strip: a 64×16 MAX7219 chain on the SPI0 pins as GPIO, shifted to 5 V, and an SSD1306 officer panel at 0x3C', async () => {
    const p = await loadBoardProfile('rpi4-max7219-matrix', BOARDS_DIR)
    expect(p.display).toMatchObject({ driver: 'max7219-matrix', modulesWide: 8, modulesHigh: 2, pins: { din: { offset: 10 }, clk: { offset: 11 }, cs: { offset: 8, bootPull: 'up' } } })
    expect(p.officerPanel).toEqual({ driver: 'ssd1306', address: 0x3c, brightness: 15, refreshMs: 5_000 })
    expect(p.i2c).toEqual({ bus: 1 })
  })

  it('takes a matrix chain with defaults, and refuses it on 3.3 V GPIO without a level shifter', () => {
    expect(parseBoardProfile(matrix(), 'x').display).toMatchObject({ digits: 6, refreshMs: 10_000, brightness: 15 })
    expect(problems({ ...matrix(), adapter: 'onoff' })).toEqual([expect.stringMatching(/^display\.levelShifter: a 3\.3 V GPIO/)])
    expect(problems({ ...matrix(), display: { ...matrix().display, modulesHigh: 5 } })[0]).toMatch(/^display\.modulesHigh: /)
  })

  it('puts an OLED at 0x3C or 0x3D on the I2C bus, and an officer panel at the other address', () => {
    const { display: _, ...rest } = max7219Board()
    const oled = parseBoardProfile({ ...rest, i2c: { bus: 1 }, display: { driver: 'sh1106', address: '0x3D' } }, 'x')
    expect(oled.display).toMatchObject({ driver: 'sh1106', address: 0x3d, digits: 8 })
    expect(displayI2cAddress(oled)).toBe(0x3d)
    expect(problems({ ...rest, i2c: { bus: 1 }, display: { driver: 'ssd1306', address: '0x70' } })).toEqual(['display.address: an SSD1306/SH1106 module answers at 0x3C or 0x3D'])
    expect(problems({ ...rest, display: { driver: 'ssd1306', address: '0x3C' } })).toEqual(['i2c: an ssd1306 display needs the I2C bus: "i2c": { "bus": 1 }'])
    expect(problems({ ...matrix(), officerPanel: { driver: 'ssd1306', address: '0x3C' } })).toEqual(['i2c: the ssd1306 officer panel needs the I2C bus: "i2c": { "bus": 1 }'])
    expect(problems({ ...rest, i2c: { bus: 1 }, display: { driver: 'ssd1306', address: '0x3C' }, officerPanel: { driver: 'sh1106', address: '0x3C' } })).toEqual([
      expect.stringMatching(/^officerPanel\.address: the display already answers at 0x3c/),
    ])
  })
})

describe('the Firmata kit', () => {
  it('runs through johnny-five on a serial port, a MAX7219 on D12/D11/D10, outputs active high', async () => {
    const p = await loadBoardProfile('firmata-uno-max7219', BOARDS_DIR)
    expect(p).toMatchObject({ adapter: 'johnny-five', serialPort: '/dev/ttyACM0' })
    expect(p.display).toMatchObject({ driver: 'max7219', pins: { din: { offset: 12 }, clk: { offset: 11 }, cs: { offset: 10 } } })
    const outputs = profileLines(p).filter((l) => l.direction === 'out')
    expect(outputs.every((l) => !l.ref.activeLow)).toBe(true)
    expect(p.outputs.statusLamp?.offset).toBe(13)
  })
})

describe('display drivers in a profile', () => {
  it('takes a MAX7219 with its three pins, lists them as outputs and opens LOAD/CS high', () => {
    const p = parseBoardProfile(max7219Board(), 'x')
    expect(p.display).toMatchObject({ driver: 'max7219', digits: 8, brightness: 15, refreshMs: 10_000 })
    expect(displayI2cAddress(p)).toBeUndefined()
    const display = profileLines(p).filter((l) => l.path.startsWith('display.'))
    expect(display.map((l) => [l.name, l.direction])).toEqual([
      ['display-din', 'out'],
      ['display-clk', 'out'],
      ['display-cs', 'out'],
    ])
    expect(display.map((l) => lineSpecFor(l).initial)).toEqual([0, 0, 1])
  })

  it('names the field for a driver it does not know, a missing pin, or too many digits', () => {
    expect(problems({ ...max7219Board(), display: { driver: 'tm1637', digits: 4 } })).toEqual([
      "display.driver: display.driver must be one of 'ht16k33', 'ht16k33-alpha', 'max7219', 'max7219-matrix', 'ssd1306', 'sh1106'",
    ])
    const { cs: _, ...twoPins } = { din: line(10, false), clk: line(11, false), cs: line(8, false) }
    expect(problems({ ...max7219Board(), display: { driver: 'max7219', digits: 8, pins: twoPins } })[0]).toMatch(/^display.pins.cs: /)
    expect(problems({ ...max7219Board(), display: { ...max7219Board().display, digits: 9 } })[0]).toMatch(/^display.digits: /)
  })

  it('refuses a display pin that is also a key, naming both', () => {
    const board = max7219Board()
    expect(problems({ ...board, keys: { ...board.keys, satisfied: line(10) } })).toEqual([
      'keys.satisfied: sim-gpio:10 已被 display.pins.din 占用 / sim-gpio:10 is already used by display.pins.din',
    ])
  })

  it('needs the I2C bus for an HT16K33, and takes the 14-segment backpack', () => {
    const { display: _, ...rest } = max7219Board()
    expect(problems({ ...rest, display: { driver: 'ht16k33', address: '0x70', digits: 4 } })).toEqual([
      'i2c: an ht16k33 display needs the I2C bus: "i2c": { "bus": 1 }',
    ])
    const alpha = parseBoardProfile({ ...rest, i2c: { bus: 1 }, display: { driver: 'ht16k33-alpha', address: '0x71', digits: 4 } }, 'x')
    expect(displayI2cAddress(alpha)).toBe(0x71)
  })
})

describe('adapters in a profile', () => {
  it('needs a serial port for johnny-five, and refuses one for the others', () => {
    expect(problems({ ...max7219Board(), adapter: 'johnny-five' })).toEqual([
      'serialPort: the johnny-five adapter needs the serial port of its Firmata board',
    ])
    expect(problems({ ...max7219Board(), serialPort: '/dev/ttyACM0' })).toEqual([
      "serialPort: only the johnny-five adapter uses a serial port, not 'sim'",
    ])
  })

  it('drives only a MAX7219 through johnny-five', () => {
    const { display: _, ...rest } = max7219Board()
    expect(
      problems({ ...rest, adapter: 'johnny-five', serialPort: '/dev/ttyACM0', i2c: { bus: 0 }, display: { driver: 'ht16k33', address: '0x70', digits: 4 } }),
    ).toEqual([expect.stringMatching(/^display.driver: the johnny-five adapter drives a MAX7219/)])
  })
})

describe('the GPIO backend in a profile (gpio.backend)', () => {
  it('takes sysfs or chardev for a Linux board or the simulator, and refuses it for johnny-five', () => {
    expect(parseBoardProfile({ ...max7219Board(), gpio: { backend: 'chardev' } }, 'x').gpio).toEqual({ backend: 'chardev' })
    expect(parseBoardProfile(max7219Board(), 'x').gpio).toBeUndefined()
    expect(problems({ ...max7219Board(), gpio: { backend: 'libgpiod' } })).toEqual([expect.stringMatching(/^gpio\.backend: /)])
    expect(problems({ ...max7219Board(), adapter: 'johnny-five', serialPort: '/dev/ttyACM0', gpio: { backend: 'chardev' } })).toEqual([
      expect.stringMatching(/^gpio: gpio\.backend picks how a Linux board drives its own pins/),
    ])
  })

  it('takes kernel debounce on an input of a chardev board only, and hands it to the line', () => {
    const board = max7219Board()
    const debounced = { ...board, keys: { ...board.keys, satisfied: { ...line(5), debounceUs: 2000 } } }
    const p = parseBoardProfile({ ...debounced, gpio: { backend: 'chardev' } }, 'x')
    expect(lineSpecFor(profileLines(p).find((l) => l.name === 'satisfied')!)).toMatchObject({ name: 'satisfied', debounceUs: 2000 })
    expect(problems(debounced)).toEqual(['keys.satisfied.debounceUs: kernel debounce needs "gpio": { "backend": "chardev" } (sysfs cannot ask for it)'])
    const onOutput = { ...board, gpio: { backend: 'chardev' }, outputs: { statusLamp: { ...line(19, false), debounceUs: 2000 } } }
    expect(problems(onOutput)).toEqual(['outputs.statusLamp.debounceUs: only inputs are debounced'])
  })

  it('the Orange Pi uses the character device and asks the kernel for the pull-ups of its keys and done lines', async () => {
    const p = await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR)
    expect(p.gpio).toEqual({ backend: 'chardev' })
    const inputs = profileLines(p).filter((l) => l.direction === 'in')
    expect(inputs.length).toBeGreaterThan(0)
    for (const l of inputs) expect([l.name, lineSpecFor(l).bias]).toEqual([l.name, 'pull-up'])
  })
})
