/**
 * Getting a johnny-five Board up without its defaults that hurt a service:
 * no REPL on stdin, no debug printing, and no SIGINT handler (johnny-five's
 * calls process.reallyExit, skipping our own clean stop, docs/hardware.md §3.3).
 *
 * The board talks either to a Firmata board on a serial port (the portable
 * window) or to any IO object, such as our J5IoPlugin over the ports.
 *
 * A Firmata board unplugged from USB says so with 'close' (serialport closes
 * the port on a disconnect) or 'disconnect', not 'error': after any of the
 * three, the context is lost for good. Its lines then fail every read and
 * write with ENODEV, so each device reports a fault, and whoever opened the
 * board (the edge command) hears it through onLost() and exits for systemd
 * to start it again on a board that is back (docs/hardware.md §3.3). The
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
  /** Why the board is gone (unplugged, port closed under us); undefined while it answers. */
  readonly lost: Error | undefined
  /** Called once when the board is lost (not on our own close()); returns the unsubscribe. */
  onLost(cb: (err: Error) => void): () => void
  /** Closes what this context opened: the plugin's lines, or the Firmata serial port. */
  close(): Promise<void>
}

/** The error a lost board's lines fail with: ENODEV, as a vanished device node gives. */
function boardLostError(where: string, cause?: Error): Error & { code: string } {
  return Object.assign(
    new Error(`ENODEV: johnny-five board (${where}) is gone: ${cause?.message ?? 'disconnected'} / 控制板已断开`, cause ? { cause } : {}),
    { code: 'ENODEV' },
  )
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
  let closing = false
  let lost: Error | undefined
  const lostListeners = new Set<(err: Error) => void>()
  const loseBoard = (what: string, detail?: unknown) => {
    if (closing || lost !== undefined) return
    lost = boardLostError(where, new Error(detail === undefined ? what : `${what}: ${describeJ5Error(detail)}`))
    opts.log?.error({ board: where, err: lost.message }, 'johnny-five board lost')
    for (const cb of [...lostListeners]) cb(lost)
  }
  // After 'ready' johnny-five passes the IO's 'close', 'disconnect' and 'error' on. An unplugged Firmata board
  // arrives as 'close' (with serialport's DisconnectedError) or 'disconnect'; an error without a listener would throw.
  board.on('error', (err: unknown) => {
    opts.log?.error({ board: where, err: describeJ5Error(err) }, 'johnny-five board error')
    loseBoard('serial port error', err)
  })
  board.on('close', (detail: unknown) => loseBoard('serial port closed (USB unplugged?)', detail ?? undefined))
  board.on('disconnect', () => loseBoard('board disconnected (USB unplugged?)'))
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
    get lost() {
      return lost
    },
    onLost(cb) {
      lostListeners.add(cb)
      return () => lostListeners.delete(cb)
    },
    close: () => {
      closing = true
      lostListeners.clear()
      // A lost board's port may already be closed under us: nothing left to report then.
      return lost !== undefined ? closeIo(board.io).catch(() => undefined) : closeIo(board.io)
    },
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
