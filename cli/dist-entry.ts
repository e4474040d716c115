/**
 * dist/counter-edge.js (cli/build/bundle.ts). `counter-edge edge`, what a board runs, starts from its own
 * CommonJS bundle with the code cache of its earlier starts (cli/bundle-code-cache.ts; docs/benchmarks.md,
 * "Edge footprint"); every other command, and `edge` with COUNTER_EDGE_CODE_CACHE=off, runs cli/main.ts.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { codeCacheFile, loadCodeCachedBundle } from './bundle-code-cache.ts'
import type { runBoard } from './board-main.ts'

/** The board bundle's file name in dist/, set by the build (it carries the bundle's content hash). */
declare const __BOARD_BUNDLE__: string

/** The value of `--config <path>` or `--config=<path>` among the edge command's arguments. */
function configPath(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') return args[i + 1]
    if (args[i]!.startsWith('--config=')) return args[i]!.slice('--config='.length)
  }
  return undefined
}

/**
 * Where the cache lives: beside the board's state, in the data directory the edge command will use (the
 * config's dataDir, else systemd's $STATE_DIRECTORY, as cli/edge-command.ts picks it), else beside the
 * bundle. A config that cannot be read here is the edge command's to report; the cache then goes beside
 * the bundle, and a place that cannot be written only means no cache.
 */
export function codeCacheDir(args: string[], env: NodeJS.ProcessEnv, distDir: string): string {
  let dataDir: unknown
  const config = configPath(args)
  if (config) {
    try {
      dataDir = (JSON.parse(readFileSync(config, 'utf8')) as { dataDir?: unknown }).dataDir
    } catch {
      // the edge command says what is wrong with it
    }
  }
  const dir = typeof dataDir === 'string' && dataDir ? dataDir : env.STATE_DIRECTORY?.split(':')[0]
  return dir ? join(dir, 'code-cache') : join(distDir, 'code-cache')
}

const args = process.argv.slice(2)
if (args[0] === 'edge' && process.env.COUNTER_EDGE_CODE_CACHE !== 'off') {
  const dist = dirname(fileURLToPath(import.meta.url))
  const bundle = join(dist, __BOARD_BUNDLE__)
  const file = codeCacheFile(codeCacheDir(args, process.env, dist), bundle)
  const loaded = loadCodeCachedBundle<{ runBoard: typeof runBoard }>(bundle, file)
  void loaded.exports.runBoard(args, loaded)
} else {
  // Built as CommonJS (no top-level await); cli/main.ts reports its own errors and sets the exit code.
  void import('./main.ts')
}
