import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { readSysfsGpioChips, resolveSysfsNumber, SysfsGpioUnavailableError } from '../../edge/hardware/sysfs-gpiochips.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import { profileLines } from '../../boards/profile-lines.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { FakeSysfs, type FakeChip } from '../support/fake-sysfs.ts'

let dirs: string[] = []

/** A /sys/class/gpio look-alike of real files: gpiochipN/{label,base,ngpio}. */
async function tree(chips: Array<{ dir: string; label: string; base: number; ngpio: number; device?: string }>): Promise<string> {
  const top = await mkdtemp(join(tmpdir(), 'gpiochips-'))
  dirs.push(top)
  const root = join(top, 'gpio')
  await mkdir(root)
  await writeFile(join(root, 'export'), '')
  for (const c of chips) {
    await mkdir(join(root, c.dir))
    await writeFile(join(root, c.dir, 'label'), `${c.label}\n`)
    await writeFile(join(root, c.dir, 'base'), `${c.base}\n`)
    await writeFile(join(root, c.dir, 'ngpio'), `${c.ngpio}\n`)
    if (c.device !== undefined) {
      // As the kernel links it: gpiochipN/device → the bank's platform device.
      await mkdir(join(top, 'devices', c.device), { recursive: true })
      await symlink(join('..', '..', 'devices', c.device), join(root, c.dir, 'device'))
    }
  }
  return root
}

afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
  dirs = []
})

describe('finding sysfs GPIO numbers by chip label', () => {
  it('adds the dynamic base of a Pi 4 on kernel 6.6+: GPIO17 is 529', async () => {
    const root = await tree([
      { dir: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
      { dir: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
    ])
    const chips = await readSysfsGpioChips(root)
    expect(chips.map((c) => [c.name, c.label, c.base, c.ngpio])).toEqual([
      ['gpiochip512', 'pinctrl-bcm2711', 512, 58],
      ['gpiochip570', 'raspberrypi-exp-gpio', 570, 8],
    ])
    expect(resolveSysfsNumber(chips, { name: 'photo-trigger', chip: 'pinctrl-bcm2711', offset: 17 }, root)).toBe(529)
  })

  it('finds the Pi 5 RP1 by label wherever the kernel put it', async () => {
    const before = await tree([
      { dir: 'gpiochip0', label: 'gpio-brcmstb@107d508500', base: 0, ngpio: 32 },
      { dir: 'gpiochip571', label: 'pinctrl-rp1', base: 571, ngpio: 54 },
    ])
    const after = await tree([
      { dir: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
      { dir: 'gpiochip569', label: 'pinctrl-rp1', base: 569, ngpio: 54 },
    ])
    const ref = { name: 'satisfied', chip: 'pinctrl-rp1', offset: 5 }
    expect(resolveSysfsNumber(await readSysfsGpioChips(before), ref, before)).toBe(576)
    expect(resolveSysfsNumber(await readSysfsGpioChips(after), ref, after)).toBe(574)
  })

  it('computes Allwinner bank offsets against the H616 pin controller', async () => {
    const root = await tree([
      { dir: 'gpiochip0', label: '300b000.pinctrl', base: 0, ngpio: 288 },
      { dir: 'gpiochip352', label: '7022000.pinctrl', base: 352, ngpio: 32 },
    ])
    const chips = await readSysfsGpioChips(root)
    // PC6 = bank C (2) * 32 + 6
    expect(resolveSysfsNumber(chips, { name: 'display-din', chip: '300b000.pinctrl', offset: 2 * 32 + 6 }, root)).toBe(70)
  })

  it('refuses an offset beyond the chip, naming its size', async () => {
    const root = await tree([{ dir: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }])
    const chips = await readSysfsGpioChips(root)
    expect(() => resolveSysfsNumber(chips, { name: 'x', chip: 'pinctrl-bcm2711', offset: 58 }, root)).toThrow(
      /offset 58 is outside gpiochip512 'pinctrl-bcm2711', which has 58 lines/,
    )
  })

  it('names the chips it did find when the label is wrong', async () => {
    const root = await tree([{ dir: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }])
    const chips = await readSysfsGpioChips(root)
    expect(() => resolveSysfsNumber(chips, { name: 'satisfied', chip: 'pinctrl-rp1', offset: 5 }, root)).toThrow(
      /^line 'satisfied' \(pinctrl-rp1:5\)：没有标签为 'pinctrl-rp1' 的 GPIO 芯片.*本板的芯片：gpiochip512 'pinctrl-bcm2711'.*板型可能与本板不符.* \/ line 'satisfied' \(pinctrl-rp1:5\): no gpiochip labelled 'pinctrl-rp1'.*gpiochip512 'pinctrl-bcm2711' \(lines 512\.\.569\)/,
    )
  })

  it('refuses a label two chips share', async () => {
    const root = await tree([
      { dir: 'gpiochip0', label: 'gpio-omap', base: 0, ngpio: 32 },
      { dir: 'gpiochip32', label: 'gpio-omap', base: 32, ngpio: 32 },
    ])
    const chips = await readSysfsGpioChips(root)
    expect(() => resolveSysfsNumber(chips, { name: 'x', chip: 'gpio-omap', offset: 1 }, root)).toThrow(/2 gpiochips are labelled 'gpio-omap'/)
  })

  it('says what to do when the kernel has no sysfs GPIO at all', async () => {
    const root = join(await tree([]), 'missing')
    const err = await readSysfsGpioChips(root).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SysfsGpioUnavailableError)
    expect((err as Error).message).toMatch(/^.*missing 不存在：此内核没有 sysfs GPIO.*"backend": "chardev".* \/ .*missing does not exist.*CONFIG_GPIO_SYSFS.*Trixie.*character-device/)
  })
})

/**
 * The AM335x's gpio-omap banks as sysfs shows them: labels that name no bank
 * ('gpio' on older kernels, 'gpio-<first>-<last>' counted in probe order on
 * newer ones), and the bank's platform device, named after its register
 * address, as the parent of each gpiochip.
 */
function am335x(labels: 'old' | 'probe-order', order: readonly string[], base0: number): FakeChip[] {
  return order.map((device, i) => ({
    label: labels === 'old' ? 'gpio' : `gpio-${i * 32}-${i * 32 + 31}`,
    device,
    base: base0 + i * 32,
    ngpio: 32,
  }))
}
const BANKS = ['44e07000.gpio', '4804c000.gpio', '481ac000.gpio', '481ae000.gpio'] as const

describe('finding a chip by its parent device (issue 19.2)', () => {
  it('reads the parent device of each chip from its device symlink', async () => {
    const root = await tree([
      { dir: 'gpiochip0', label: 'gpio-0-31', base: 0, ngpio: 32, device: '44e07000.gpio' },
      { dir: 'gpiochip32', label: 'gpio-32-63', base: 32, ngpio: 32, device: '4804c000.gpio' },
      { dir: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
    ])
    const chips = await readSysfsGpioChips(root)
    expect(chips.map((c) => [c.label, c.device])).toEqual([
      ['gpio-0-31', '44e07000.gpio'],
      ['gpio-32-63', '4804c000.gpio'],
      ['pinctrl-bcm2711', undefined],
    ])
    expect(resolveSysfsNumber(chips, { name: 'nvr-relay', chip: '4804c000.gpio', offset: 18 }, root)).toBe(50)
  })

  it('finds the bank even when the banks probed in another order, which a label would get wrong', async () => {
    // The wakeup-domain bank (GPIO0) probed last: 'gpio-0-31' is now GPIO1.
    const root = await tree([
      { dir: 'gpiochip512', label: 'gpio-0-31', base: 512, ngpio: 32, device: '4804c000.gpio' },
      { dir: 'gpiochip544', label: 'gpio-32-63', base: 544, ngpio: 32, device: '481ac000.gpio' },
      { dir: 'gpiochip576', label: 'gpio-64-95', base: 576, ngpio: 32, device: '481ae000.gpio' },
      { dir: 'gpiochip608', label: 'gpio-96-127', base: 608, ngpio: 32, device: '44e07000.gpio' },
    ])
    const chips = await readSysfsGpioChips(root)
    expect(resolveSysfsNumber(chips, { name: 'call-next', chip: '44e07000.gpio', offset: 26 }, root)).toBe(608 + 26)
  })

  it('says, when labels are shared, that the parent device tells the chips apart', async () => {
    const root = await tree([
      { dir: 'gpiochip0', label: 'gpio', base: 0, ngpio: 32, device: '44e07000.gpio' },
      { dir: 'gpiochip32', label: 'gpio', base: 32, ngpio: 32, device: '4804c000.gpio' },
    ])
    const chips = await readSysfsGpioChips(root)
    expect(() => resolveSysfsNumber(chips, { name: 'x', chip: 'gpio', offset: 1 }, root)).toThrow(
      /2 gpiochips are labelled 'gpio'.*name the chip by its parent device \(44e07000\.gpio, 4804c000\.gpio\)/,
    )
    expect(resolveSysfsNumber(chips, { name: 'x', chip: '4804c000.gpio', offset: 1 }, root)).toBe(33)
  })

  it.each([
    ['an older kernel (every bank labelled gpio)', am335x('old', BANKS, 0)],
    ['a newer kernel, banks in address order', am335x('probe-order', BANKS, 512)],
    ['a newer kernel, the wakeup bank probed last', am335x('probe-order', [BANKS[1], BANKS[2], BANKS[3], BANKS[0]], 512)],
  ])('opens every line of the BeagleBone profile on %s, each on its own bank', async (_, chips) => {
    const sysfs = new FakeSysfs(chips)
    try {
      const profile = await loadBoardProfile('beaglebone-black-ht16k33', BOARDS_DIR)
      const backend = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log: pino({ level: 'silent' }) })
      for (const line of profileLines(profile)) {
        const bank = chips.find((c) => c.device === line.ref.chip)!
        await backend.open(lineSpecFor(line))
        expect(sysfs.isExported(bank.base + line.ref.offset), line.name).toBe(true)
      }
      expect(sysfs.level(chips.find((c) => c.device === '4804c000.gpio')!.base + 18)).toBe(0) // the relay starts released
      await backend.stop()
    } finally {
      sysfs.cleanup()
    }
  })
})
