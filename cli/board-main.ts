/**
 * The board's own bundle (dist/board-<hash>.cjs, cli/build/bundle.ts): `counter-edge edge` alone, as one
 * CommonJS file that dist/counter-edge.js compiles through V8 with the code cache of earlier starts
 * (cli/bundle-code-cache.ts). Every other command, and `edge` with the cache turned off, runs cli/main.ts.
 */
import type { Logger } from '../edge/shared/logger.ts'
import { makeEdgeCommand } from './edge-command.ts'
import { runCommandLine } from './run-command-line.ts'

/** What the loader offers the bundle: saving the code cache, once the runtime has compiled its start. */
export interface BoardCodeCache {
  /** Writes the cache; says where, or why not. Never throws. */
  save(): { written: string; kb: number } | { skipped: string }
  /** How this start's compile went: 'used' (V8 took the cache), 'none', or 'rejected' (V8 refused the file). */
  readonly compiled: 'used' | 'none' | 'rejected'
  /** Why the cache file there was not used (damaged, refused by V8). */
  readonly problem?: string
  readonly file: string | null
}

/**
 * After the first birth, not at it: the start's last functions (the birth's acknowledgement, the first
 * telemetry) are compiled by then, and the write does not delay what the hub is waiting for.
 */
export const CACHE_SAVE_DELAY_MS = 1_000

export async function runBoard(argv: string[], cache: BoardCodeCache): Promise<void> {
  const saveOnce = (log: Logger): void => {
    if (cache.compiled === 'used') {
      log.info({ file: cache.file }, 'started from the code cache of the board bundle')
      return
    }
    setTimeout(() => {
      const r = cache.save()
      if ('written' in r) log.info({ file: r.written, kb: r.kb, before: cache.problem ?? cache.compiled }, 'code cache of the board bundle saved')
      else log.warn({ reason: r.skipped }, '代码缓存未保存，下次启动照常编译 / code cache not saved; the next start compiles as usual')
    }, CACHE_SAVE_DELAY_MS).unref()
  }
  const edge = makeEdgeCommand({ firstOnline: saveOnce })
  process.exitCode = await runCommandLine(argv, { edge: async () => edge }, { edge: edge.summary })
  // Lingering sockets or timers of a stopped service must not keep a stopped process alive (as cli/main.ts).
  setTimeout(() => process.exit(process.exitCode as number), 200).unref()
}
