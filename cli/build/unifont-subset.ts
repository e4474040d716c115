/**
 * Cuts the glyphs a window screen needs out of GNU Unifont's unifont.hex (the
 * Debian package `unifont`, /usr/share/unifont/unifont.hex) into
 * edge/hardware/fonts/unifont-cjk.hex.gz, which the runtime reads: a board
 * then needs no font package. Run again after a Unifont upgrade:
 *
 *   npx tsx cli/build/unifont-subset.ts [/usr/share/unifont/unifont.hex]
 *
 * The ranges are those of SHIPPED_FONT_RANGES (edge/hardware/bitmap-font.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { SHIPPED_FONT_FILE, SHIPPED_FONT_RANGES } from '../../edge/hardware/bitmap-font.ts'

const source = process.argv[2] ?? '/usr/share/unifont/unifont.hex'
const keep = (cp: number) => SHIPPED_FONT_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi)
const lines = readFileSync(source, 'latin1')
  .split('\n')
  .filter((l) => /^[0-9A-F]{4,6}:[0-9A-F]+$/.test(l) && keep(Number.parseInt(l.slice(0, l.indexOf(':')), 16)))
const gz = gzipSync(Buffer.from(lines.join('\n') + '\n', 'latin1'), { level: 9 })
writeFileSync(SHIPPED_FONT_FILE, gz)
console.log(`${lines.length} glyphs from ${source} → ${SHIPPED_FONT_FILE} (${gz.length} bytes)`)
