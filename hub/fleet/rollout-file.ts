import { readFile, rename } from 'node:fs/promises'
import { z } from 'zod'
import { updateStateNameSchema } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import { SerialQueue } from '../../edge/shared/serial-queue.ts'
import { writeWholeFile } from '../../edge/shared/whole-file.ts'
import type { RolloutStatus } from './rollout-status.ts'

/**
 * A rollout as it is kept on disk: its status (every board's part, the cmd
 * each was sent) and when each board was sent its command, so a hub that
 * restarts mid-rollout knows which boards it must not send the release again
 * (docs/operations.md, "Updating a hall").
 */
export interface SavedRollout {
  status: RolloutStatus
  /** When each board was sent its `update` (ISO time), by counter. */
  sentAt: Record<string, string>
}

const boardSchema = z.object({
  counter: z.string().min(1),
  state: z.enum(['pending', 'sent', 'confirmed', 'failed', 'rolled-back', 'skipped']),
  reported: updateStateNameSchema.nullable(),
  running: z.string().nullable(),
  reason: z.string().nullable(),
  cmd: z.string().nullable(),
})

const fileSchema = z.object({
  format: z.literal(1),
  status: z.object({
    state: z.enum(['none', 'running', 'done', 'halted', 'cancelled']),
    version: z.string().nullable(),
    atATime: z.number().int().nonnegative(),
    confirmWithinS: z.number().nonnegative(),
    started: z.string().nullable(),
    finished: z.string().nullable(),
    wave: z.array(z.string()),
    waves: z.number().int().nonnegative(),
    boards: z.array(boardSchema),
    halted: z.object({ counter: z.string(), reason: z.string() }).nullable(),
  }),
  sentAt: z.record(z.string(), z.string()),
})

/**
 * The rollout file in the hub's data directory (`<dataDir>/rollout.json`).
 * Every save is whole or absent: written to a temp file, fsynced, renamed over
 * the last one, and the directory fsynced so the rename itself survives a power
 * cut, as the board's state file does (edge/state-file.ts). Saves run one at a
 * time in the order asked, so an older rollout never lands last. A file that
 * cannot be read back is set aside as `.bad` and the hub starts without a
 * rollout: a broken file must never keep the hall's hub from starting.
 */
export class RolloutFile {
  private readonly writes = new SerialQueue()
  /** A save queued and not begun: later saves join it, as it takes the newest rollout when it runs. */
  private queued: Promise<void> | null = null

  constructor(
    /** null: nowhere to keep it (no dataDir, e.g. a hub cluster on Redis); the rollout lives in memory only. */
    readonly path: string | null,
    private readonly log: Logger,
  ) {}

  /** The rollout saved last, or null when there is none (or it could not be read, then set aside). */
  async load(): Promise<SavedRollout | null> {
    const path = this.path
    if (!path) return null
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      return this.setAside(path, `无法读取 / cannot read it: ${(err as Error).message}`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return this.setAside(path, '不是 JSON / not JSON')
    }
    const parsed = fileSchema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      return this.setAside(path, `格式不符 / not a rollout file: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
    }
    return { status: parsed.data.status, sentAt: parsed.data.sentAt }
  }

  /** Saves what `take` returns when the write runs (the newest then); resolves once it is on disk, or logged when it could not be. */
  save(take: () => SavedRollout): Promise<void> {
    const path = this.path
    if (!path) return Promise.resolve()
    if (this.queued) return this.queued
    const saving = this.writes
      .run(() => {
        this.queued = null
        return writeWholeFile(path, JSON.stringify({ format: 1, ...take() }, null, 1) + '\n')
      })
      .catch((err: Error) => this.log.error({ file: path, err: err.message }, '无法保存升级进度，重启后将丢失 / could not save the rollout; a hub restart would lose it'))
    this.queued = saving
    return saving
  }

  /** Every save asked for so far is on disk (or failed and logged). */
  flush(): Promise<void> {
    return this.writes.drain()
  }

  private async setAside(path: string, why: string): Promise<null> {
    const bad = `${path}.bad`
    const moved = await rename(path, bad).then(
      () => true,
      () => false,
    )
    this.log.error(
      { file: path, keptAs: moved ? bad : null, why },
      `升级进度文件无法读取，已另存为 ${moved ? bad : '(未能改名 / could not rename)'}，集线器以无升级状态启动 / the rollout file could not be read and was set aside; the hub starts with no rollout`,
    )
    return null
  }
}
