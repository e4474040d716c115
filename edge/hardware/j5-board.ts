/**
 * Getting a johnny-five Board up without its defaults that hurt a service:
 * no REPL on stdin, no debug printing, and no SIGINT handler (johnny-five's
 * calls process.reallyExit, skipping our own clean stop, docs/hardware.md §3.3).
 *
 * The board talks either to a Firmata board on a serial port (the portable
 * window) or to any IO object, such as our J5IoPlugin over the ports. The
 * module is loaded on first use, so runtimes that never use johnny-five do
 * not load it (and its unpinned `temporal` dependency).
 */
import type { Board, Io } from 'johnny-five'
import type { Logger } from 'pino'
import { J5IoPlugin } from './j5-io-plugin.ts'

export type Five = (typeof import('johnny-five'))['default']

let loading: Promise<Five> | undefined

export function loadJohnnyFive(): Promise<Five> {
  loading ??= import('johnny-five').then((m) => m.default)
  return loading
}

export interface J5Context {
  readonly five: Five
  readonly board: Board
  readonly io: Io
  /** Where the board is, for messages: the serial port or the IO object's name. */
  readonly where: string
  /** Closes what this context opened: the plugin's lines, or the Firmata serial port. */
  close(): Promise<void>
}

export interface OpenJ5BoardOptions {
  /** An IO object; a J5IoPlugin is connected here. */
  io?: Io | J5IoPlugin
  /** The Firmata board's serial port, when no io is given. */
  serialPort?: string
  /** How long to wait for the board; default 10 s (an Uno resets when its port opens). */
  timeoutMs?: number
  log?: Logger
}

export async function openJ5Board(opts: OpenJ5BoardOptions): Promise<J5Context> {
  if (opts.io === undefined && opts.serialPort === undefined) throw new Error('a johnny-five board needs an io object or a serial port')
  const five = await loadJohnnyFive()
  const timeoutMs = opts.timeoutMs ?? 10_000
  const io = opts.io as Io | undefined
  const where = io !== undefined ? `io '${io.name}'` : `Firmata on ${opts.serialPort}`
  const board = new five.Board({
    ...(io !== undefined ? { io } : { port: opts.serialPort! }),
    repl: false,
    debug: false,
    sigint: false,
    timeout: timeoutMs,
  })
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`johnny-five board (${where}) not ready after ${timeoutMs} ms: is StandardFirmata flashed and the port right?`)),
      timeoutMs,
    )
    board.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
    board.once('error', (err: unknown) => {
      clearTimeout(timer)
      reject(new Error(`johnny-five board (${where}): ${describeJ5Error(err)}`, { cause: err }))
    })
  })
  // After 'ready', a lost serial port arrives as 'error'; without a listener it would throw from an event.
  board.on('error', (err: unknown) => opts.log?.error({ board: where, err: describeJ5Error(err) }, 'johnny-five board error'))
  try {
    if (opts.io instanceof J5IoPlugin) await opts.io.connect()
    await ready
  } catch (err) {
    await closeIo(board.io ?? io).catch(() => undefined)
    throw err
  }
  return {
    five,
    board,
    io: board.io,
    where,
    close: () => closeIo(board.io),
  }
}

/** johnny-five emits its errors as plain event objects ({ class, message, … }), not Errors. */
function describeJ5Error(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message
  }
  return String(err)
}

/** Waits for what an IO object has queued (our plugin); Firmata writes straight to its serial port. */
export async function flushIo(io: Io): Promise<void> {
  if (typeof io.flush === 'function') await io.flush()
}

async function closeIo(io: Io | undefined): Promise<void> {
  if (io === undefined) return
  if (typeof io.close === 'function') return io.close()
  const transport = io.transport
  if (transport?.close !== undefined && transport.isOpen !== false) {
    await new Promise<void>((resolve) => transport.close!(() => resolve()))
  }
}
