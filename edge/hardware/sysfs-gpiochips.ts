/**
 * Finding a GPIO line's sysfs number from its chip label and offset
 * (docs/hardware.md §1.2), the only numbering that survives kernel upgrades:
 *
 * - from kernel 6.6 Raspberry Pi OS uses dynamic bases: the Pi 4's
 *   pinctrl-bcm2711 starts at 512, so GPIO17 is sysfs 529, and writing 17 to
 *   `export` fails with EINVAL;
 * - the Pi 5's RP1 (pinctrl-rp1) moved from gpiochip4 to gpiochip0 around
 *   6.6.45, and its base has been 571, 399 and others;
 * - Allwinner and AM335x chips have their own labels and bases.
 *
 * - some drivers' labels name no bank at all: gpio-omap (the BeagleBone's
 *   AM335x) labels its banks 'gpio' on older kernels and 'gpio-0-31',
 *   'gpio-32-63', … counted in probe order on newer ones, while the bank's
 *   own name ('44e07000.gpio', its register address) is the chip's parent
 *   device, the target of the gpiochipN/device symlink.
 *
 * So: read every /sys/class/gpio/gpiochipN/{label,base,ngpio} and the name of
 * its parent device, pick the chip whose label or parent device is the one
 * the profile names (never by index or N), and add the offset.
 */
import { access, readdir, readFile, readlink } from 'node:fs/promises'
import { basename, join } from 'node:path'

export const SYSFS_GPIO_ROOT = '/sys/class/gpio'

export interface SysfsGpioChip {
  /** Directory name, 'gpiochip512'. */
  name: string
  label: string
  /** Name of the parent device ('44e07000.gpio'), from the `device` symlink; undefined when there is none. */
  device?: string
  base: number
  ngpio: number
}

/** Sysfs GPIO is not there at all: no onoff on this kernel. */
export class SysfsGpioUnavailableError extends Error {
  override readonly name = 'SysfsGpioUnavailableError'
  readonly code = 'ENOENT'
  readonly root: string

  constructor(root: string, options?: { cause?: unknown }) {
    super(
      `${root} 不存在：此内核没有 sysfs GPIO（CONFIG_GPIO_SYSFS 未开启），onoff 适配器无法驱动任何引脚；请换用开启它的内核，` +
        `或在板型文件中写 "gpio": { "backend": "chardev" } 改用 GPIO 字符设备（docs/operations.md） / ` +
        `${root} does not exist: this kernel has no sysfs GPIO (CONFIG_GPIO_SYSFS is off, as on Debian/Raspberry Pi OS ` +
        `Trixie with kernel 6.12 and on some Armbian builds), so the onoff adapter cannot drive any line. Either boot ` +
        `a kernel built with CONFIG_GPIO_SYSFS=y, or use the GPIO character-device backend (/dev/gpiochipN): put ` +
        `"gpio": { "backend": "chardev" } in the board file (docs/operations.md).`,
      options,
    )
    this.root = root
  }
}

async function readTrimmed(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim()
}

function parseCount(text: string, file: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${file}: expected a number, read '${text}'`)
  return n
}

/** Every gpiochip under the sysfs root, in base order. */
export async function readSysfsGpioChips(root: string = SYSFS_GPIO_ROOT): Promise<SysfsGpioChip[]> {
  try {
    await access(root)
  } catch (err) {
    throw new SysfsGpioUnavailableError(root, { cause: err })
  }
  const chips: SysfsGpioChip[] = []
  for (const name of await readdir(root)) {
    if (!/^gpiochip\d+$/.test(name)) continue
    const dir = join(root, name)
    const device = await readlink(join(dir, 'device')).then(
      (target) => basename(target),
      () => undefined,
    )
    chips.push({
      name,
      label: await readTrimmed(join(dir, 'label')),
      ...(device !== undefined ? { device } : {}),
      base: parseCount(await readTrimmed(join(dir, 'base')), join(dir, 'base')),
      ngpio: parseCount(await readTrimmed(join(dir, 'ngpio')), join(dir, 'ngpio')),
    })
  }
  return chips.sort((a, b) => a.base - b.base)
}

export function describeChips(chips: readonly SysfsGpioChip[]): string {
  if (chips.length === 0) return 'none'
  return chips.map((c) => `${c.name} '${c.label}'${c.device !== undefined ? ` on ${c.device}` : ''} (lines ${c.base}..${c.base + c.ngpio - 1})`).join(', ')
}

export interface SysfsLineRef {
  /** Role name for the error message ('satisfied'). */
  name: string
  /** The chip's label or its parent device's name. */
  chip: string
  offset: number
}

/**
 * sysfs number = base of the chip + offset, the chip being the one whose
 * label, or failing that whose parent device, the line names; throws with
 * what it found when it cannot.
 */
export function resolveSysfsNumber(chips: readonly SysfsGpioChip[], line: SysfsLineRef, root: string = SYSFS_GPIO_ROOT): number {
  const byLabel = chips.filter((c) => c.label === line.chip)
  const matches = byLabel.length > 0 ? byLabel : chips.filter((c) => c.device === line.chip)
  const where = `line '${line.name}' (${line.chip}:${line.offset})`
  if (matches.length === 0) {
    throw new Error(
      `${where}：没有标签为 '${line.chip}' 的 GPIO 芯片，也没有以它为父设备的芯片；本板的芯片：${describeChips(chips)}。板型可能与本板不符，请用 \`cat ${root}/gpiochip*/label\` 核对 / ` +
        `${where}: no gpiochip labelled '${line.chip}' or with that parent device under ${root}; chips here: ${describeChips(chips)}. ` +
        `Check the board profile against \`cat ${root}/gpiochip*/label\` and \`ls -l ${root}/gpiochip*/device\`.`,
    )
  }
  if (matches.length > 1) {
    const how = byLabel.length > 0 ? 'are labelled' : 'have the parent device'
    throw new Error(
      `${where}: ${matches.length} gpiochips ${how} '${line.chip}' (${describeChips(matches)}); that does not pick one` +
        (byLabel.length > 0 && byLabel.some((c) => c.device !== undefined) ? `: name the chip by its parent device (${byLabel.map((c) => c.device ?? '?').join(', ')})` : ''),
    )
  }
  const chip = matches[0]!
  if (!Number.isInteger(line.offset) || line.offset < 0 || line.offset >= chip.ngpio) {
    throw new RangeError(`${where}: offset ${line.offset} is outside ${chip.name} '${chip.label}', which has ${chip.ngpio} lines (0..${chip.ngpio - 1})`)
  }
  return chip.base + line.offset
}
