import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profileLines } from '../../boards/profile-lines.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import {
  BoardProfileError,
  loadBoardProfile,
  parseBoardProfile,
  type BoardProfileInput,
} from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const line = (offset: number, activeLow = true) => ({ chip: 'sim-gpio', offset, activeLow })

function valid(): BoardProfileInput {
  return {
    id: 'test-board',
    description: 'a board for tests',
    adapter: 'sim',
    i2c: { bus: 1 },
    display: { driver: 'ht16k33', address: '0x71', digits: 4 },
    keys: { satisfied: line(5), neutral: line(6), dissatisfied: line(13) },
  }
}

function problems(json: unknown): string[] {
  try {
    parseBoardProfile(json, 'boards/test-board.json')
  } catch (err) {
    expect(err).toBeInstanceOf(BoardProfileError)
    expect((err as Error).message).toContain('boards/test-board.json')
    return [...(err as BoardProfileError).problems]
  }
  throw new Error('expected the profile to be refused')
}

describe('board profiles', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boards-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('loads the shipped profiles by id', async () => {
    const sim = await loadBoardProfile('sim-window', BOARDS_DIR)
    expect(sim).toMatchObject({ adapter: 'sim', i2c: { bus: 1 }, display: { address: 0x70, digits: 4, brightness: 15 } })
    expect(sim.outputs.evaluatorLamp).toBeDefined()
    expect(sim.outputs.statusLamp).toBeDefined()
    const pi = await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR)
    expect(pi.adapter).toBe('onoff')
    expect(Object.values(pi.keys).map((k) => [k.chip, k.offset, k.activeLow, k.bias])).toEqual([
      ['pinctrl-bcm2711', 5, true, 'pull-up'],
      ['pinctrl-bcm2711', 6, true, 'pull-up'],
      ['pinctrl-bcm2711', 13, true, 'pull-up'],
    ])
  })

  it('fills defaults and reads hex addresses', () => {
    const p = parseBoardProfile({ ...valid(), keys: { ...valid().keys, neutral: { chip: 'sim-gpio', offset: 6 } } }, 'x')
    expect(p.display).toMatchObject({ driver: 'ht16k33', address: 0x71 })
    expect(p.keys.neutral.activeLow).toBe(false)
    expect(p.keyTiming).toEqual({ lockoutMs: 40, stuckMs: 15_000, chatterEdges: 20 })
    expect(p.outputs).toEqual({})
  })

  it('names the field that is wrong', () => {
    expect(problems({ ...valid(), keys: { ...valid().keys, neutral: { chip: 'sim-gpio', offset: '6' } } })).toEqual([
      'keys.neutral.offset: Invalid input: expected number, received string',
    ])
    const { description: _, ...noDescription } = valid()
    expect(problems(noDescription)[0]).toMatch(/^description: /)
    expect(problems({ ...valid(), display: { ...valid().display, address: '0x80' } })[0]).toMatch(/^display.address: HT16K33 地址须在 0x70..0x77 之间 \/ HT16K33 addresses are 0x70..0x77/)
    expect(problems({ ...valid(), adapter: 'pigpio' })[0]).toMatch(/^adapter: /)
    expect(problems({ ...valid(), keys: { ...valid().keys, satisfied: { ...line(5), pin: 17 } } })[0]).toMatch(
      /^keys.satisfied: Unrecognized key: "pin"/,
    )
  })

  it('refuses a 5-level scale with only one of its extra keys', () => {
    expect(problems({ ...valid(), keys: { ...valid().keys, 'very-satisfied': line(16) } })).toEqual([
      'keys.very-satisfied: the 5-level scale needs both very-satisfied and very-dissatisfied',
    ])
    const five = parseBoardProfile(
      { ...valid(), keys: { ...valid().keys, 'very-satisfied': line(16), 'very-dissatisfied': line(17) } },
      'x',
    )
    expect(Object.keys(five.keys)).toHaveLength(5)
  })

  it('refuses one pin used for two roles, naming both', () => {
    expect(problems({ ...valid(), outputs: { statusLamp: line(6, false) } })).toEqual([
      'outputs.statusLamp: sim-gpio:6 已被 keys.neutral 占用 / sim-gpio:6 is already used by keys.neutral',
    ])
  })

  it('accepts the optional capture lines and NVR relay, and lists every line under its role name', () => {
    const p = parseBoardProfile(
      {
        ...valid(),
        officerKeys: { 'call-next': line(20), pause: line(21) },
        outputs: { nvrRelay: { ...line(4), minHoldMs: 2_000 } },
        capture: { photo: { trigger: line(22, false), done: line(23, false) } },
      },
      'x',
    )
    expect(p.capture?.photo).toMatchObject({ pulseMs: 100, timeoutMs: 10_000 })
    expect(p.outputs.nvrRelay?.minHoldMs).toBe(2_000)
    const names = profileLines(p).map((l) => `${l.name}:${l.direction}`)
    expect(names).toEqual([
      'satisfied:in',
      'neutral:in',
      'dissatisfied:in',
      'officer-call-next:in',
      'officer-pause:in',
      'nvr-relay:out',
      'photo-trigger:out',
      'photo-done:in',
    ])
    const [first] = profileLines(p)
    expect(first && lineSpecFor(first)).toEqual({
      name: 'satisfied',
      chip: 'sim-gpio',
      offset: 5,
      direction: 'in',
      activeLow: true,
      edge: 'both',
    })
  })

  it('reports unreadable, malformed and misnamed files with the file name', async () => {
    const missing = await loadBoardProfile('no-such-board', dir).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(BoardProfileError)
    expect((missing as BoardProfileError).message).toMatch(/no-such-board\.json: 板型文件无效 \/ invalid board profile\n {2}- 没有板型 'no-such-board'.*\/ no board profile 'no-such-board'/)
    // The CLI lists the folder's ids from here, the nearest first (cli/board-profile.ts).
    expect((missing as BoardProfileError).missing).toEqual({ id: 'no-such-board', dir })
    await writeFile(join(dir, 'broken.json'), '{ "id": ')
    await expect(loadBoardProfile('broken', dir)).rejects.toThrow(/broken\.json.*不是有效的 JSON \/ not valid JSON/s)
    await writeFile(join(dir, 'copied.json'), JSON.stringify(valid()))
    await expect(loadBoardProfile('copied', dir)).rejects.toThrow(/copied\.json.*'test-board' does not match/s)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ ...valid(), i2c: { bus: -1 } }))
    await expect(loadBoardProfile(bad, BOARDS_DIR)).rejects.toThrow(new RegExp(`${bad}[^]*i2c.bus: `))
  })
})
