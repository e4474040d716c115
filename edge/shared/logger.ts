import { createRequire } from 'node:module'
import { pino, type Logger, type LevelWithSilent } from 'pino'
import type { PrettyStream } from 'pino-pretty'

// Loaded only for a person at a terminal: a board logs JSON, and pino-pretty
// (with colorette, dateformat and friends) would cost it memory and start time.
const requireCjs = createRequire(import.meta.url)

export type { Logger }

export interface LoggerOptions {
  name: string
  level?: LevelWithSilent
  /** Human-readable lines; defaults to on when stdout is a terminal. */
  pretty?: boolean
  destination?: NodeJS.WritableStream
}

/**
 * pino reports an error's constructor name as its type; in dist/, minified,
 * that is a mangled name, so an error class's own `name` wins.
 */
function namedError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err)
  if (out && typeof err?.name === 'string' && err.name !== 'Error') out.type = err.name
  return out
}

/**
 * The one place a process makes its root logger; modules get child loggers from
 * their composition root. Passwords and tokens are redacted at the root so no
 * module can leak one by logging an options object.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? ((process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? 'info')
  const wantPretty = opts.pretty ?? (process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : Boolean(process.stdout.isTTY))
  const base = {
    name: opts.name,
    level,
    serializers: { err: namedError },
    redact: { paths: ['password', '*.password', '*.*.password', 'token', '*.token', 'secret', '*.secret'], censor: '[redacted]' },
  }
  if (wantPretty) {
    const pretty = requireCjs('pino-pretty') as (opts: Record<string, unknown>) => PrettyStream
    return pino(base, pretty({ colorize: Boolean(process.stdout.isTTY), ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', destination: opts.destination ?? 1, sync: true }))
  }
  return opts.destination ? pino(base, opts.destination) : pino(base)
}

/** A logger that drops everything: for tests that assert behaviour, not log lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
