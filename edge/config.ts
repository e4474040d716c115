import { z } from 'zod'
import { defaultPublicWindow, idSchema, publicWindowSchema, windowNameFor, type PublicWindow } from './protocol/index.ts'
import { parseBrokerUrl } from './shared/mqtt-connect.ts'
import type { Settings } from './counter/state.ts'
import { videoConfigSchema } from './devices/video-hooks.ts'

/** A hub address as the board file writes it (`mqtt://host:1883`, `mqtts://…`, or bare `host:port`), parsed. */
const hubAddress = z.string().transform((url, ctx) => {
  try {
    return parseBrokerUrl(url)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
    return z.NEVER
  }
})

/** The board config file (`counter-edge edge --config`, as `counter-edge provision` prints it). */
export const boardFileSchema = z.strictObject({
  hall: idSchema,
  counter: idSchema,
  /**
   * The window as the public knows it, e.g. `{ "number": "3", "name": "3号窗口" }`;
   * the name defaults to "<number>号窗口", the whole to the counter id's digits
   * (w03 → "3"). It goes out in `state` and every call event.
   */
  window: z.strictObject({ number: publicWindowSchema.shape.number, name: publicWindowSchema.shape.name.optional() }).optional(),
  /** The board profile (boards/) this window's hardware follows. */
  board: z.string().min(1),
  /** Tried in turn on each reconnect: a board fails over between hubs. */
  hub: z.array(hubAddress).min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  /**
   * Where the window's state and the event journal survive a restart; the CLI
   * defaults it to systemd's $STATE_DIRECTORY (StateDirectory=). Without it
   * every start is a fresh, closed window and the journal lives in memory.
   */
  dataDir: z.string().min(1).optional(),
  /** PEM files for mqtts:// hubs: the hall's CA; the board's certificate and key where the hub asks for one. */
  tls: z
    .strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
    .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'cert and key go together' })
    .optional(),
  /**
   * The video monitoring hooks: the NVR alarm relay's mode (the profile names its line) and the
   * NVR's text line, in the hall's time zone. Absent: no video hooks.
   */
  video: videoConfigSchema.optional(),
})

export type BoardFile = z.output<typeof boardFileSchema>

/**
 * What startEdge takes: the board file as parsed, less the profile (the CLI
 * loads it and hands over the hardware it names) and with the TLS files read
 * into memory; plus what only the simulator and tests set.
 */
export type EdgeConfig = Omit<BoardFile, 'board' | 'tls'> & {
  /** For mqtts:// hubs: the hall's CA and, where the hub asks for one, the board's certificate and key, read from the files the board file names. */
  tls?: { [K in keyof NonNullable<BoardFile['tls']>]?: Buffer }
  settings?: Partial<Settings>
  /** Backlog entries the link sends per second at most after an outage (default 1000); live traffic is not paced. */
  backlogRate?: number
  /** The installed board root (edge/update/board-root.ts); default: two levels above the running release, when that is one. */
  root?: string
}

/** The public window a board announces: its config's, completed, or the counter id's default (edge/protocol/public-window.ts). */
export function publicWindowOf(counter: string, given?: BoardFile['window']): PublicWindow {
  if (!given) return defaultPublicWindow(counter)
  return { number: given.number, name: given.name ?? windowNameFor(given.number) }
}
