import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BoardRoot } from '../../../edge/update/board-root.ts'

/**
 * Tiny releases for the launcher's tests: real programs the launcher runs as
 * it runs a release's dist/counter-edge.js, each appending what it did to
 * <root>/runs.log (start, confirmed), one line each:
 * - healthy: says `healthy` over IPC at once and runs until SIGTERM;
 * - crash: throws at start;
 * - silent: runs but never says `healthy`;
 * - exits: ends with exit code 0 at start, before it says `healthy` (a runtime that gives up quietly);
 * - healthy-logged: as healthy, and logs `said healthy` once the message is on the channel (a test's barrier).
 */
export type FakeKind = 'healthy' | 'crash' | 'silent' | 'exits' | 'healthy-logged'

const PROGRAMS: Record<FakeKind, string> = {
  healthy: `
process.send({ type: 'healthy', version: VERSION })
process.on('message', (m) => { if (m.type === 'confirmed') log('confirmed ' + m.version) })
setInterval(() => {}, 1000)
process.on('SIGTERM', () => { log('stopped ' + VERSION); process.exit(0) })
`,
  crash: `
throw new Error('boom at start of ' + VERSION)
`,
  silent: `
setInterval(() => {}, 1000)
`,
  exits: `
process.exit(0)
`,
  'healthy-logged': `
process.send({ type: 'healthy', version: VERSION }, () => log('said healthy'))
process.on('message', (m) => { if (m.type === 'confirmed') log('confirmed ' + m.version) })
setInterval(() => {}, 1000)
process.on('SIGTERM', () => { log('stopped ' + VERSION); process.exit(0) })
`,
}

// The silent release can be stopped by its deadline while it is still starting
// (seconds under emulation): its handler comes before its first line, so a
// logged start is always followed by a logged clean stop.
const SIGTERM_FIRST = `process.on('SIGTERM', () => { log('stopped ' + VERSION); process.exit(0) })
`

export async function writeFakeRelease(root: BoardRoot, version: string, kind: FakeKind): Promise<void> {
  const dir = root.releaseDir(version)
  await mkdir(join(dir, 'dist'), { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'counter-edge', version, type: 'module' }))
  await writeFile(
    join(dir, 'dist', 'counter-edge.js'),
    `import { appendFileSync, readFileSync } from 'node:fs'
const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version
const log = (line) => appendFileSync(${JSON.stringify(join(root.dir, 'runs.log'))}, line + '\\n')
${kind === 'silent' ? SIGTERM_FIRST : ''}log('start ' + VERSION + ' ' + process.argv.slice(2).join(' '))
${PROGRAMS[kind]}`,
  )
}

export async function makeRoot(dir: string, versions: Record<string, FakeKind>, current: string, previous?: string): Promise<BoardRoot> {
  const root = new BoardRoot(dir)
  for (const [v, kind] of Object.entries(versions)) await writeFakeRelease(root, v, kind)
  await root.point('current', current)
  if (previous) await root.point('previous', previous)
  await mkdir(join(dir, 'keys'), { recursive: true })
  return root
}

