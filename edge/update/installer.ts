import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { CommandOf, ErrorCode, ReleaseManifest, UpdateReport } from '../protocol/index.ts'
import type { Logger } from '../shared/logger.ts'
import type { BoardRoot, UpdateJournal } from './board-root.ts'
import { checkRelease } from './release-checks.ts'
import { pruneReleases } from './release-pruning.ts'
import { unpackRelease } from './unpack.ts'

/** The fields of the retained `update` report, less the envelope the link adds. */
export type UpdateFields = Pick<UpdateReport, 'running' | 'state' | 'target' | 'previous' | 'cmd' | 'reason' | 'progress' | 'waitingFor'>

/** The step an install failed at, in Chinese beside the English one, for the reason central and the technician read. */
const STEP_ZH: Partial<Record<UpdateFields['state'], string>> = { downloading: '下载失败', verifying: '校验失败', installing: '安装失败', restarting: '切换版本失败' }

export type UpdateAnswer = { ok: true; result: Record<string, unknown> } | { ok: false; code: ErrorCode; message: string }

export interface InstallerOptions {
  root: BoardRoot
  /** The version running now (this process's package.json). */
  running: string
  /** The board's own MQTT credentials: the hub's download asks for them (HTTP Basic). */
  credentials: { username: string; password: string }
  report: (fields: UpdateFields) => void
  /** A clean stop of the whole runtime (journal flushed, offline reason `upgrade`), then exit 0 for the launcher to start `current`. */
  restart: () => Promise<void>
  log: Logger
  now?: () => number
  node?: string
  /**
   * True when nobody is at the window, and then the window refuses anything that would bring one until the restart
   * (edge/window.ts holdForRestart): the check and the hold are one step, so no call lands between the check and the
   * restart. The command was only taken with nobody there (edge/counter/machine.ts), but a call may come while the
   * release downloads: the restart then waits until the window is free again.
   */
  hold?: () => Promise<boolean>
  /** The switch failed after the hold: the window takes calls again. */
  release?: () => void
  /** How often `hold` is tried while the restart waits (default 1 s). */
  freeCheckMs?: number
  /** The waits before each further try of a download the hub cut or did not answer (DOWNLOAD_RETRY_MS). */
  downloadRetryMs?: readonly number[]
}

/**
 * A hub restarting (an update of its own, a crash, systemd bringing it back) cuts a board's
 * download: about a minute of tries covers that, a rollout waits for nothing longer.
 */
export const DOWNLOAD_RETRY_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000]

/**
 * Takes a release on an `update` command (issue 24): checks it before any
 * download (edge/update/release-checks.ts), answers the command, then
 * downloads, verifies, unpacks beside the running version and restarts into
 * it, reporting each step on the retained `update` topic. Anything that fails
 * before the switch of `current` leaves the running version as it was and
 * reports `failed` with the reason. The launcher (edge/update/launcher.ts)
 * confirms the new version or goes back.
 */
export class Installer {
  private busy: string | null = null
  private pruning: Promise<void> | null = null
  /** An `update` command being checked: set before its first await, so no cleanup starts before `busy` is. */
  private taking = false
  private stopped = false
  private wait: NodeJS.Timeout | null = null
  private wake: (() => void) | null = null
  private readonly now: () => number

  constructor(private readonly opts: InstallerOptions) {
    this.now = opts.now ?? Date.now
  }

  /** What the last start left in update.json, reported once at start: confirming a trial, or the rollback and why. */
  async reportStart(): Promise<UpdateJournal> {
    const j = await this.opts.root.readJournal()
    const previous = await this.opts.root.versionOf('previous')
    const base = { running: this.opts.running, previous, cmd: j.cmd, progress: null }
    if (j.trying === this.opts.running) this.opts.report({ ...base, state: 'confirming', target: j.trying, reason: null })
    else if (j.rolledBack && j.rolledBack.to === this.opts.running) this.opts.report({ ...base, state: 'rolled-back', target: j.rolledBack.from, reason: j.rolledBack.reason })
    else this.opts.report({ ...base, state: 'idle', target: null, cmd: null, reason: null })
    // Nothing on trial: what older updates left is removed (a board installed before this pruning has them all).
    // Not awaited: deleting a release from an SD card takes a while, and the start goes on meanwhile.
    if (!j.trying) void this.prune()
    return j
  }

  /** The launcher confirmed this version (it said `healthy` in time). */
  async confirmed(): Promise<void> {
    const j = await this.opts.root.readJournal()
    this.opts.report({ running: this.opts.running, state: 'confirmed', target: this.opts.running, previous: await this.opts.root.versionOf('previous'), cmd: j.cmd, reason: null, progress: null })
    await this.prune()
  }

  /**
   * Old releases go once nothing is on trial (edge/update/release-pruning.ts); never while an install in this
   * process is under way, which lays down a release no link points at yet. An update taken meanwhile waits for it.
   */
  private async prune(): Promise<void> {
    if (this.busy || this.taking || this.pruning) return
    this.pruning = pruneReleases(this.opts.root, this.opts.log)
      .then(() => undefined)
      .catch((err: Error) => this.opts.log.warn({ err: err.message }, `旧版本清理失败 / could not clean up old releases`))
      .finally(() => {
        this.pruning = null
      })
    await this.pruning
  }

  /** Until the window is free and held for the restart (or the runtime stops); `waiting` says so on the update topic. */
  private async untilHeld(cmd: string, waiting: () => void): Promise<void> {
    const hold = this.opts.hold
    if (!hold || (await hold())) return
    this.opts.log.info({ cmd }, 'release installed; the restart waits until nobody is at the window')
    waiting()
    while (!this.stopped) {
      await this.pause(this.opts.freeCheckMs ?? 1000)
      if (!this.stopped && (await hold())) return
    }
  }

  /** Waits ms, or until stop(). */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve
      this.wait = setTimeout(resolve, ms)
    })
  }

  /** The runtime stops: an install waiting for the window to be free, or to try a download again, stops waiting and restarts nothing. */
  stop(): void {
    this.stopped = true
    if (this.wait) clearTimeout(this.wait)
    this.wake?.()
  }

  /** Checks the release and answers the command; the install runs on after the answer. */
  async begin(cmd: CommandOf<'update'>): Promise<UpdateAnswer> {
    if (this.busy) return { ok: false, code: 'busy', message: `升级到 ${this.busy} 正在进行 / update ${this.busy} is already under way` }
    if (this.taking) return { ok: false, code: 'busy', message: '另一升级命令正在检查 / another update command is being checked' }
    this.taking = true
    let checked: Awaited<ReturnType<typeof checkRelease>>
    try {
      // A cleanup of old releases takes moments; none starts from here on, so none deletes what this update lays down.
      if (this.pruning) await this.pruning
      checked = await checkRelease({ signed: cmd.release, root: this.opts.root, running: this.opts.running, ...(this.opts.node ? { node: this.opts.node } : {}) })
    } finally {
      this.taking = false
    }
    if (!checked.ok) {
      this.opts.log.warn({ cmd: cmd.id, reason: checked.reason }, 'update refused')
      return { ok: false, code: checked.code, message: checked.reason }
    }
    const m = checked.manifest
    this.busy = m.version
    void this.install(cmd, m).finally(() => {
      this.busy = null
    })
    return { ok: true, result: { version: m.version, size: m.payload.size } }
  }

  private async install(cmd: CommandOf<'update'>, m: ReleaseManifest): Promise<void> {
    const { root, log } = this.opts
    const previous = await root.versionOf('current')
    const base = { running: this.opts.running, target: m.version, previous, cmd: cmd.id, reason: null, progress: null }
    const part = join(root.releases, `${m.version}.tar.gz.part`)
    let step: UpdateFields['state'] = 'downloading'
    try {
      this.opts.report({ ...base, state: 'downloading', progress: { bytes: 0, total: m.payload.size } })
      await rm(part, { force: true })
      await mkdir(root.releases, { recursive: true })
      // Loaded here, not at the top: node:http and node:https (with tls) cost every board start some 10 ms of
      // CPU compiling them, for an update that comes a few times a year (docs/benchmarks.md, "Edge footprint").
      const { download, DownloadError } = await import('./download.ts')
      const retryMs = this.opts.downloadRetryMs ?? DOWNLOAD_RETRY_MS
      let got: Awaited<ReturnType<typeof download>>
      for (let attempt = 0; ; attempt++) {
        try {
          got = await download({
            url: cmd.url,
            ...this.opts.credentials,
            dest: part,
            size: m.payload.size,
            onProgress: (bytes, total) => this.opts.report({ ...base, state: 'downloading', progress: { bytes, total } }),
          })
          break
        } catch (err) {
          const waitMs = retryMs[attempt]
          if (!(err instanceof DownloadError && err.retry) || waitMs === undefined || this.stopped) throw err
          log.warn({ cmd: cmd.id, version: m.version, attempt: attempt + 1, err: err.message, retryInMs: waitMs }, 'download cut or not answered; trying again')
          this.opts.report({ ...base, state: 'downloading', progress: { bytes: 0, total: m.payload.size } })
          await this.pause(waitMs)
          if (this.stopped) throw err
        }
      }
      step = 'verifying'
      this.opts.report({ ...base, state: 'verifying' })
      if (got.bytes !== m.payload.size) throw new Error(`大小不符 / payload is ${got.bytes} bytes, the signed manifest says ${m.payload.size}`)
      if (got.sha256 !== m.payload.sha256) throw new Error(`SHA-256 不符，下载内容已损坏 / payload SHA-256 ${got.sha256.slice(0, 16)}… differs from the signed manifest's ${m.payload.sha256.slice(0, 16)}…`)
      step = 'installing'
      this.opts.report({ ...base, state: 'installing' })
      await unpackRelease(part, root.releases, m.version)
      await rm(part, { force: true })
      step = 'restarting'
      await this.untilHeld(cmd.id, () => this.opts.report({ ...base, state: 'installing', waitingFor: 'applicant' }))
      if (this.stopped) return
      const deadline = new Date(this.now() + cmd.confirmWithinS * 1000).toISOString()
      await root.writeJournal({ trying: m.version, previous, cmd: cmd.id, deadline, rolledBack: null })
      if (previous) await root.point('previous', previous)
      await root.point('current', m.version)
    } catch (err) {
      const reason = `${STEP_ZH[step] ?? step} / ${step}: ${(err as Error).message}`.slice(0, 500)
      log.error({ cmd: cmd.id, version: m.version, reason }, 'update failed; the running version keeps running')
      await rm(part, { force: true }).catch(() => undefined)
      // Failed while switching: the journal must not name a trial the launcher would wait for.
      if (step === 'restarting') {
        this.opts.release?.()
        await root.writeJournal({ trying: null, previous: null, cmd: null, deadline: null, rolledBack: null }).catch(() => undefined)
        if (previous) await root.point('current', previous).catch(() => undefined)
      }
      this.opts.report({ ...base, state: 'failed', reason })
      return
    }
    this.opts.report({ ...base, state: 'restarting' })
    log.info({ cmd: cmd.id, from: previous, to: m.version }, 'release installed; restarting into it')
    await this.opts.restart()
  }
}
