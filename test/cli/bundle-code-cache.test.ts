import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { codeCacheFile, loadCodeCachedBundle, readCacheFile, writeCacheFile } from '../../cli/bundle-code-cache.ts'

/** A CommonJS bundle in miniature: exports, require of a builtin, a function compiled only when called. */
const BUNDLE = `"use strict";
const { join } = require('node:path');
function later(x) { return join('a', String(x * 2)) }
module.exports = { answer: 42, later, where: __filename };
`

describe('the code cache of a CommonJS bundle (cli/bundle-code-cache.ts)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'code-cache-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('runs the bundle without a cache, saves one, and the next load takes it', async () => {
    const bundle = join(dir, 'board-AAAA.cjs')
    await writeFile(bundle, BUNDLE)
    const file = codeCacheFile(join(dir, 'cache'), bundle)
    const first = loadCodeCachedBundle<{ answer: number; later(x: number): string; where: string }>(bundle, file)
    expect(first).toMatchObject({ compiled: 'none', exports: { answer: 42, where: bundle } })
    expect(first.exports.later(2)).toBe(join('a', '4'))
    expect(first.save()).toMatchObject({ written: file })
    expect(first.save()).toEqual({ skipped: 'already saved' })

    const second = loadCodeCachedBundle<{ answer: number }>(bundle, file)
    expect(second.compiled).toBe('used')
    expect(second.exports.answer).toBe(42)
  })

  it('refuses a damaged file before V8 sees it (V8 checks no bytes of a cache): wrong magic, truncated, a flipped byte', async () => {
    const file = join(dir, 'damaged.v8cache')
    writeCacheFile(file, Buffer.from('pretend bytecode, long enough to flip a byte in'))
    const good = await readFile(file)
    expect(readCacheFile(file)).toEqual({ data: Buffer.from('pretend bytecode, long enough to flip a byte in') })

    await writeFile(file, good.subarray(0, good.length - 5))
    expect(readCacheFile(file)).toEqual({ problem: expect.stringMatching(/truncated/) })
    const flipped = Buffer.from(good)
    flipped[20]! ^= 0x40
    await writeFile(file, flipped)
    expect(readCacheFile(file)).toEqual({ problem: 'checksum mismatch' })
    await writeFile(file, 'plain text')
    expect(readCacheFile(file)).toEqual({ problem: 'not a code cache file' })
    expect(readCacheFile(join(dir, 'absent.v8cache'))).toBeNull()
  })

  it('a damaged cache is a start without it, and saving replaces it; caches of other bundles are removed then', async () => {
    const bundle = join(dir, 'board-BBBB.cjs')
    await writeFile(bundle, BUNDLE)
    const cacheDir = join(dir, 'cache-b')
    const file = codeCacheFile(cacheDir, bundle)
    writeCacheFile(join(cacheDir, 'board-OLD1.v20.0.0-x64-00000000.v8cache'), Buffer.from('an earlier release'))
    await writeFile(file, 'garbage')
    const loaded = loadCodeCachedBundle<{ answer: number }>(bundle, file)
    expect(loaded).toMatchObject({ compiled: 'none', problem: 'not a code cache file', exports: { answer: 42 } })
    expect(loaded.save()).toMatchObject({ written: file })
    expect(await readdir(cacheDir)).toEqual([file.split('/').pop()])
    expect(loadCodeCachedBundle(bundle, file).compiled).toBe('used')
  })

  it('the file is named for the bundle (its content hash) and the node binary', () => {
    expect(codeCacheFile('/d', '/dist/board-X.cjs')).toBe(`/d/board-X.${process.version}-${process.arch}.v8cache`)
  })

  it('an unwritable place is a reason, never an exception', async () => {
    const bundle = join(dir, 'board-CCCC.cjs')
    await writeFile(bundle, BUNDLE)
    await writeFile(join(dir, 'blocked'), 'a file where the folder would go')
    const loaded = loadCodeCachedBundle(bundle, codeCacheFile(join(dir, 'blocked', 'cache'), bundle))
    expect(loaded.save()).toEqual({ skipped: expect.stringMatching(/blocked/) })
    expect(loadCodeCachedBundle(bundle, null).save()).toEqual({ skipped: 'no writable place for it' })
  })
})
