import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { profileLines } from '../../boards/profile-lines.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { driveOutputsInactive } from '../../edge/hardware/outputs-off.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { ChardevBackend } from '../../edge/hardware/chardev-backend.ts'
import { FakeGpioCdev } from '../support/fake-gpio-cdev.ts'
import { FakeSysfs } from '../support/fake-sysfs.ts'

const log = pino({ level: 'silent' })
const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const UNIT = fileURLToPath(new URL('../../edge/supervision/counter-edge.service', import.meta.url))

let fakes: FakeSysfs[] = []
afterEach(() => {
  for (const f of fakes) f.cleanup()
  fakes = []
})

/** A Pi 4 on kernel 6.6+ (pinctrl-bcm2711 at base 512), or a Pi 5 (pinctrl-rp1 at 571). */
function sysfsFor(label: 'pinctrl-bcm2711' | 'pinctrl-rp1', claimed: number[] = []) {
  const base = label === 'pinctrl-bcm2711' ? 512 : 571
  const sysfs = new FakeSysfs([{ label, base, ngpio: 58 }], { claimed })
  fakes.push(sysfs)
  return { sysfs, base }
}

/** A runtime that drives its outputs active and then dies without its clean stop (a crash, a watchdog kill). */
async function crashWithOutputsDriven(sysfs: FakeSysfs, profileId: string, names: string[]) {
  const profile = await loadBoardProfile(profileId, BOARDS_DIR)
  const dead = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log })
  for (const line of profileLines(profile).filter((l) => names.includes(l.name))) {
    const handle = await dead.open(lineSpecFor(line))
    await handle.write(1)
  }
  return profile
}

describe('outputs-off: every output inactive and released after a run that did not stop cleanly (issue 19.3)', () => {
  it('releases an NVR relay and a capture trigger a killed run left driven', async () => {
    const { sysfs, base } = sysfsFor('pinctrl-bcm2711')
    const profile = await crashWithOutputsDriven(sysfs, 'rpi4-ht16k33', ['nvr-relay', 'photo-trigger'])
    const relay = base + profile.outputs.nvrRelay!.offset
    const trigger = base + profile.capture!.photo!.trigger.offset
    // What sysfs does after the process is gone: still exported, still driven.
    expect([sysfs.isExported(relay), sysfs.level(relay), sysfs.level(trigger)]).toEqual([true, 1, 1])

    const next = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log })
    const reports = await driveOutputsInactive(profile, next, log)
    expect(reports.filter((r) => r.error !== undefined)).toEqual([])
    const outputs = profileLines(profile).filter((l) => l.direction === 'out')
    expect(reports.map((r) => r.name)).toEqual(outputs.map((l) => l.name))
    for (const out of outputs) {
      const n = base + out.ref.offset
      expect([out.name, sysfs.level(n), sysfs.isExported(n)]).toEqual([out.name, 0, false])
    }
  })

  it('leaves an active-low relay released: its pin high', async () => {
    const { sysfs, base } = sysfsFor('pinctrl-rp1')
    const profile = await crashWithOutputsDriven(sysfs, 'rpi5-ht16k33-alpha', ['nvr-relay'])
    const relay = base + profile.outputs.nvrRelay!.offset
    expect(sysfs.level(relay)).toBe(0) // energised: an active-low board closes on a low pin
    await driveOutputsInactive(profile, new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log }), log)
    expect(sysfs.level(relay)).toBe(1)
    expect(sysfs.isExported(relay)).toBe(false)
  })

  it('releases the other outputs when one cannot be opened, and says which failed', async () => {
    const profile = await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR)
    const lampOffset = profile.outputs.statusLamp!.offset
    const { sysfs, base } = sysfsFor('pinctrl-bcm2711', [512 + lampOffset])
    await crashWithOutputsDriven(sysfs, 'rpi4-ht16k33', ['nvr-relay'])
    const reports = await driveOutputsInactive(profile, new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log }), log)
    expect(reports.filter((r) => r.error !== undefined)).toEqual([
      expect.objectContaining({ name: 'status-lamp', path: 'outputs.statusLamp', error: expect.stringMatching(/EBUSY/) }),
    ])
    expect(sysfs.level(base + profile.outputs.nvrRelay!.offset)).toBe(0)
  })

  it('leaves a MAX7219 LOAD line high, its idle level', async () => {
    const sysfs = new FakeSysfs([{ label: '300b000.pinctrl', base: 0, ngpio: 288 }])
    fakes.push(sysfs)
    const profile = await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR)
    const reports = await driveOutputsInactive(profile, new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log }), log)
    expect(reports.find((r) => r.name === 'display-cs')).toMatchObject({ level: 1 })
    const cs = profile.display.driver === 'max7219' ? profile.display.pins.cs.offset : -1
    expect(sysfs.level(cs)).toBe(1)
  })

  it('on the character device: the kernel released the dead run\'s lines, outputs-off drives them inactive', async () => {
    const profile = await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR)
    expect(profile.gpio?.backend).toBe('chardev')
    const kernel = new FakeGpioCdev([{ label: '300b000.pinctrl', device: '300b000.pinctrl', lines: 288 }])
    const dead = new ChardevBackend({ sys: kernel, log })
    for (const line of profileLines(profile).filter((l) => ['nvr-relay', 'photo-trigger'].includes(l.name))) await (await dead.open(lineSpecFor(line))).write(1)
    const relay = profile.outputs.nvrRelay!.offset
    const trigger = profile.capture!.photo!.trigger.offset
    kernel.processDies()
    // Released, nobody holds them; the pins keep the level last driven until someone drives them.
    expect([kernel.holder(0, relay), kernel.level(0, relay), kernel.level(0, trigger)]).toEqual([undefined, 1, 1])
    const reports = await driveOutputsInactive(profile, new ChardevBackend({ sys: kernel, log }), log)
    expect(reports.filter((r) => r.error !== undefined)).toEqual([])
    for (const out of profileLines(profile).filter((l) => l.direction === 'out')) {
      expect([out.name, kernel.level(0, out.ref.offset), kernel.holder(0, out.ref.offset)]).toEqual([out.name, out.initial ?? 0, undefined])
    }
  })

  it('is what the systemd unit runs after every stop, on the board config the runtime starts with', async () => {
    const unit = await readFile(UNIT, 'utf8')
    const start = unit.split('\n').find((l) => l.startsWith('ExecStart='))!
    const post = unit.split('\n').find((l) => l.startsWith('ExecStopPost='))
    expect(post).toBeDefined()
    const config = /--config (\S+)/.exec(start)![1]!
    expect(post).toMatch(new RegExp(`/dist/counter-edge\\.js outputs-off --config ${config.replaceAll('.', '\\.')}$`))
    expect(unit).toMatch(/^Restart=always$/m)
  })

  it('runs as a CLI subcommand, and refuses to guess which board', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr })
        })
      })
    const ok = await run(['outputs-off', '--profile', 'sim-window'])
    expect(ok.code).toBe(0)
    expect(ok.out).toMatch(/nvr-relay\s+outputs\.nvrRelay = 0/)
    expect(ok.out).toMatch(/every output of 'sim-window' is inactive and released/)
    const neither = await run(['outputs-off'])
    expect(neither.code).toBe(2)
    expect(neither.err).toMatch(/exactly one of --config and --profile/)
  }, 60_000)
})
