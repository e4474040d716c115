/**
 * A power cut at any write the board makes, in this process, over the real
 * file system. The test file routes node:fs/promises through `wrap` (vi.mock
 * with the actual module); every call keeps doing what it did, and under the
 * watched data folder the disk also keeps what a power cut would leave:
 *
 * - a file's bytes survive once an fsync (sync/datasync) of it has returned;
 *   bytes written and not yet synced are gone after the cut;
 * - a rename, unlink or truncate survives as soon as it returned (the
 *   unfavourable reading for a file that is replaced whole: the new name may
 *   be on disk before anything else the process had in flight).
 *
 * Each such call that returns is one write point. At the armed point the
 * power goes: `onCut` runs at once (the test drops the network: nothing
 * more reaches the hub), and every later call under the folder fails with
 * EIO, as a dead card would, until `restore()` puts the surviving image in
 * place for the next start. A journal fsync can be made to take longer than
 * the state file's (`slowSyncMs`), as on an SD card with a larger file to flush.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type * as FsPromises from 'node:fs/promises'

// Taken before a test fakes the timers: the slow fsync is real time, as the I/O is.
const realSetTimeout = globalThis.setTimeout

type Fs = typeof FsPromises

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...listFiles(p))
    else out.push(p)
  }
  return out
}

export class PowerCutDisk {
  private root: string | null = null
  /** What survives a cut, by absolute path. */
  private durable = new Map<string, Buffer>()
  private points = 0
  private cutAt = Infinity
  private onCut: () => void = () => {}
  /** Where each cut happened: `${point} ${operation} ${file}`. */
  readonly log: string[] = []
  cut = false
  slowSyncMs: (path: string) => number = () => 0

  /** Watches `root` from now on; the files in it now are on disk (a fresh start or a restored image). */
  watch(root: string): void {
    this.root = resolve(root)
    this.durable = new Map(listFiles(this.root).map((p) => [p, readFileSync(p)]))
    this.points = 0
    this.cutAt = Infinity
    this.cut = false
  }

  /** The power goes when the `point`-th write point from now has returned. */
  arm(point: number, onCut: () => void): void {
    this.points = 0
    this.cutAt = point
    this.onCut = onCut
  }

  /** No cut from here on (the writes that were to be cut at have all passed). */
  disarm(): void {
    this.cutAt = Infinity
  }

  /** Write points passed since `arm` (or `watch`). */
  get passed(): number {
    return this.points
  }

  /** After a cut: the folder as the power cut left it, ready for the next start. */
  restore(): void {
    const root = this.root
    if (!root) throw new Error('nothing watched')
    for (const p of listFiles(root)) if (!this.durable.has(p)) rmSync(p)
    for (const [p, data] of this.durable) {
      mkdirSync(dirname(p), { recursive: true })
      writeFileSync(p, data)
    }
    this.watch(root)
  }

  private under(path: unknown): string | null {
    if (this.root === null || (typeof path !== 'string' && !(path instanceof URL))) return null
    const p = resolve(String(path instanceof URL ? path.pathname : path))
    const rel = relative(this.root, p)
    return rel.startsWith('..') ? null : p
  }

  private dead(what: string, path: string): Error {
    return Object.assign(new Error(`EIO: power is off (${what} ${path})`), { code: 'EIO' })
  }

  /** One write point passed; the cut, if this is the armed one. */
  private point(what: string, path: string): void {
    if (this.cut) return
    this.points++
    if (this.points === this.cutAt) {
      this.cut = true
      this.log.push(`${this.points} ${what} ${this.root ? relative(this.root, path) : path}`)
      this.onCut()
    }
  }

  private async guarded<T>(what: string, path: string | null, run: () => Promise<T>, after?: (p: string) => void): Promise<T> {
    if (path === null) return run()
    if (this.cut) throw this.dead(what, path)
    const r = await run()
    if (this.cut) throw this.dead(what, path)
    after?.(path)
    this.point(what, path)
    return r
  }

  /** node:fs/promises with the watch on every call that changes the folder. */
  wrap(fs: Fs): Fs {
    const handle = (fh: FsPromises.FileHandle, path: string | null): FsPromises.FileHandle => {
      if (path === null) return fh
      const synced = async (what: 'sync' | 'datasync') => {
        const delay = this.slowSyncMs(path)
        if (delay > 0) await new Promise((r) => realSetTimeout(r, delay))
        return this.guarded(what, path, () => fh[what](), (p) => {
          if (statSync(p).isFile()) this.durable.set(p, readFileSync(p))
        })
      }
      return new Proxy(fh, {
        get: (target, prop) => {
          if (prop === 'sync' || prop === 'datasync') return () => synced(prop)
          if (prop === 'write' || prop === 'writev' || prop === 'writeFile' || prop === 'appendFile' || prop === 'truncate') {
            const f = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop]!
            return (...args: unknown[]) => this.guarded(String(prop), path, () => f.apply(target, args))
          }
          const v = Reflect.get(target, prop, target) as unknown
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
        },
      })
    }
    const open = (async (path: FsPromises.FileHandle | string, ...rest: unknown[]) => {
      const p = this.under(path)
      if (p !== null && this.cut) throw this.dead('open', p)
      const fh = await (fs.open as (...a: unknown[]) => Promise<FsPromises.FileHandle>)(path, ...rest)
      return handle(fh, p)
    }) as Fs['open']
    const rename = (async (from: string, to: string) => {
      const p = this.under(to)
      return this.guarded('rename', p, () => fs.rename(from, to), () => {
        const f = resolve(from)
        const data = this.durable.get(f) ?? readFileSync(to)
        this.durable.delete(f)
        this.durable.set(resolve(to), data)
      })
    }) as Fs['rename']
    const unlink = (async (path: string) => {
      const p = this.under(path)
      return this.guarded('unlink', p, () => fs.unlink(path), (q) => this.durable.delete(q))
    }) as Fs['unlink']
    const truncate = (async (path: string, len?: number) => {
      const p = this.under(path)
      return this.guarded('truncate', p, () => fs.truncate(path, len), (q) => this.durable.set(q, readFileSync(q)))
    }) as Fs['truncate']
    const writeFile = (async (path: string, ...rest: unknown[]) => {
      const p = this.under(path)
      return this.guarded('writeFile', p, () => (fs.writeFile as (...a: unknown[]) => Promise<void>)(path, ...rest))
    }) as Fs['writeFile']
    return { ...fs, open, rename, unlink, truncate, writeFile, default: { ...fs, open, rename, unlink, truncate, writeFile } } as Fs
  }
}

/** The one disk of this test process (vi.mock's factory and the test share it). */
export const disk = new PowerCutDisk()
