/**
 * The board's edge command in a V8 startup snapshot (Node 20's
 * `--build-snapshot`): one CommonJS bundle holding everything but native
 * addons, evaluated at build time under the board unit's node flags (a blob
 * only loads under the flags and the node binary it was built with), so a
 * start skips parsing, compiling and evaluating the modules. A lever measured
 * beside what ships.
 */
import { build } from 'esbuild'
import { execFile } from 'node:child_process'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO } from './bench-hub.ts'

export interface BoardSnapshot {
  /** node <flags> --snapshot-blob <blob> edge --config … */
  blob: string
  blobMb: number
  buildMs: number
}

/** Packages a snapshot cannot hold (native addons) or a board never loads: required at run time, if ever. */
const EXTERNAL = ['onoff', 'i2c-bus', 'johnny-five', 'serialport', 'classic-level', 'level', 'epoll', 'pino-pretty', 'ws', 'socks']

/** dir must lie below the repository: the bundle finds package.json from its own place, as dist/ does. */
export async function buildBoardSnapshot(dir: string, nodeFlags: string[]): Promise<BoardSnapshot> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const script = join(dir, 'board.cjs')
  const blob = join(dir, 'board.blob')
  const t0 = performance.now()
  await build({
    entryPoints: [join(REPO, 'test/bench/support/board-snapshot-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    minify: true,
    outfile: script,
    external: EXTERNAL,
    logLevel: 'warning',
    // A CommonJS bundle has no import.meta: the modules that find files from their own place get the bundle's.
    define: { 'import.meta.url': '__snapshotScriptUrl' },
    banner: { js: "var __snapshotScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
  })
  await promisify(execFile)(process.execPath, [...nodeFlags, '--snapshot-blob', blob, '--build-snapshot', script], { cwd: dir })
  return { blob, blobMb: Math.round(((await stat(blob)).size / 1048576) * 10) / 10, buildMs: Math.round(performance.now() - t0) }
}
