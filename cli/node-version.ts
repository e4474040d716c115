import { PACKAGE_NODE_RANGE } from '../edge/shared/package-root.ts'

/**
 * The Node.js that package.json's engines asks for, checked before a command
 * loads: on an older Node a command's imports fail at link time with a
 * SyntaxError that names a missing export (node:zlib's crc32 before 20.15),
 * which tells a technician nothing about what to install.
 */
export function nodeTooOld(range = PACKAGE_NODE_RANGE, running = process.versions.node): string | null {
  const want = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(range.trim())
  if (!want) return null
  const need = [Number(want[1]), Number(want[2]), Number(want[3] ?? 0)]
  const have = running.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) > need[i]!) return null
    if ((have[i] ?? 0) < need[i]!) {
      return `counter-edge needs Node.js ${need.join('.')} or later (package.json engines: "${range}"); this is Node.js ${running}. ` +
        "On Debian 13 and Raspberry Pi OS based on it, `apt install nodejs` gives 20.19; otherwise install Node.js 20 LTS from nodejs.org or NodeSource."
    }
  }
  return null
}
