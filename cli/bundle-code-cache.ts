/**
 * Runs a CommonJS bundle through V8 with a code cache of its own (docs/benchmarks.md, "Edge footprint"):
 * the bytecode of the functions an earlier start compiled, so this start neither parses the bundle nor
 * compiles those functions again. Node 20 has no compile cache for user code, and any V8 flag (the board
 * unit runs three) makes V8 reject the cache Node ships for its own modules; this one is made on the
 * board, by the same node binary under the same flags, so V8 takes it.
 *
 * What V8 checks of a cache by itself: its version, its flags and the source's length, not the bytes.
 * Hence the file name carries the bundle's content hash (a release's bundle has its own cache) and the
 * file its own checksum (a torn or rotten file is dropped, never handed to V8). Anything wrong with the
 * cache is a start without it; the file is written again once the runtime is online.
 *
 * Loaded by dist/counter-edge.js before anything else: node builtins only.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { Script, constants } from 'node:vm'
import { crc32 } from 'node:zlib'

const MAGIC = 0x31434543 // "CEC1", little-endian
const HEADER = 12
/** The bundle is CommonJS: run as Node's own loader runs a module, as a function of these. */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { '
const WRAP_TAIL = '\n})'

export type CompileOutcome = 'used' | 'none' | 'rejected'

export interface CodeCachedBundle<T> {
  exports: T
  /** 'used': V8 took the cache; 'none': there was none (or it was unreadable or damaged); 'rejected': V8 refused it. */
  compiled: CompileOutcome
  /** Why the cache was not used, when there was a file. */
  problem?: string
  file: string | null
  /** Writes this start's code cache (temp file, fsync, rename); says where, or why not. Never throws. */
  save(): { written: string; kb: number } | { skipped: string }
}

/**
 * The cache's file for this bundle under this node binary, in `dir`. Not keyed by the flags: V8 refuses a
 * cache made under other V8 flags by itself, and the file is then written again; a board runs one set.
 */
export function codeCacheFile(dir: string, bundle: string): string {
  return join(dir, `${basename(bundle, '.cjs')}.${process.version}-${process.arch}.v8cache`)
}

/** The payload of a cache file, or why it cannot be used. */
export function readCacheFile(file: string): { data: Buffer } | { problem: string } | null {
  let raw: Buffer
  try {
    raw = readFileSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    return { problem: `unreadable: ${(e as Error).message}` }
  }
  if (raw.length < HEADER || raw.readUInt32LE(0) !== MAGIC) return { problem: 'not a code cache file' }
  const length = raw.readUInt32LE(8)
  if (raw.length !== HEADER + length) return { problem: `truncated or padded: ${raw.length - HEADER} bytes of ${length}` }
  const data = raw.subarray(HEADER)
  if (crc32(data) !== raw.readUInt32LE(4)) return { problem: 'checksum mismatch' }
  return { data }
}

/** Writes a cache file whole or not at all: a temp file beside it, fsynced, renamed over it. */
export function writeCacheFile(file: string, data: Buffer): void {
  mkdirSync(dirname(file), { recursive: true })
  const header = Buffer.alloc(HEADER)
  header.writeUInt32LE(MAGIC, 0)
  header.writeUInt32LE(crc32(data), 4)
  header.writeUInt32LE(data.length, 8)
  const tmp = `${file}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, header)
    writeSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(tmp, file)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
    throw e
  }
}

/** Caches of other bundles (an earlier release's) or another node in the same folder: never used again. */
function removeOtherCaches(file: string): void {
  const dir = dirname(file)
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.v8cache') && name !== basename(file)) {
      try {
        unlinkSync(join(dir, name))
      } catch {
        // another process's, or already gone: harmless
      }
    }
  }
}

/**
 * Compiles and runs `bundle` (a CommonJS file) with the cache in `file` when it is sound, and returns
 * its exports and a way to save this start's cache. `file` null: no cache at all (compiled as usual).
 */
export function loadCodeCachedBundle<T>(bundle: string, file: string | null): CodeCachedBundle<T> {
  const source = readFileSync(bundle, 'utf8')
  const read = file ? readCacheFile(file) : null
  const cachedData = read && 'data' in read ? read.data : undefined
  const script = new Script(WRAP_HEAD + source + WRAP_TAIL, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
    // The bundle's own lazy parts are inside it; a dynamic import() of a package goes to Node's loader.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const compiled: CompileOutcome = cachedData ? (script.cachedDataRejected ? 'rejected' : 'used') : 'none'
  const problem = read && 'problem' in read ? read.problem : compiled === 'rejected' ? 'V8 rejected it (another node or other flags)' : undefined
  const module = { exports: {} as T }
  const fn = script.runInThisContext() as (e: T, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void
  fn.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle))
  let saved = false
  return {
    exports: module.exports,
    compiled,
    ...(problem ? { problem } : {}),
    file,
    save() {
      if (!file) return { skipped: 'no writable place for it' }
      if (saved) return { skipped: 'already saved' }
      try {
        const data = script.createCachedData()
        writeCacheFile(file, data)
        saved = true
        removeOtherCaches(file)
        return { written: file, kb: Math.round(data.length / 1024) }
      } catch (e) {
        return { skipped: `${file}: ${(e as Error).message}` }
      }
    },
  }
}
