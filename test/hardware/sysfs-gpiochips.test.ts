import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readSysfsGpioChips, resolveSysfsNumber, SysfsGpioUnavailableError } from '../../edge/hardware/sysfs-gpiochips.ts'

let dirs: string[] = []

/** A /sys/class/gpio look-alike of real files: gpiochipN/{label,base,ngpio}. */
async function tree(chips: Array<{ dir: string; label: string; base: number; ngpio: number }>): Promise<string> {
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
      /line 'satisfied' \(pinctrl-rp1:5\): no gpiochip labelled 'pinctrl-rp1'.*gpiochip512 'pinctrl-bcm2711' \(lines 512\.\.569\)/,
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
    expect((err as Error).message).toMatch(/does not exist.*CONFIG_GPIO_SYSFS.*Trixie.*character-device/)
  })
})
