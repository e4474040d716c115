import { describe, it, expect, afterEach } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelCustodyStore, type CustodyRecord } from '../../hub/custody-store.ts'
import { canMountTmpfs, fillUp, mountTmpfs, unmountTmpfs } from '../support/tmpfs.ts'

/**
 * The custody store on a disk that fills up (a real ENOSPC, on a small tmpfs;
 * mounting one needs root, as CI runs). LevelDB fails the log write, but its
 * log writer has moved on as if the record were there: later writes still
 * succeed, yet on the next open the reader stops at the torn record and drops
 * everything written after it. Those were acknowledged to boards. The store
 * must not acknowledge anything after a failed write until it has reopened.
 */

const canMount = canMountTmpfs()
const mounts: string[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) {
    unmountTmpfs(m)
    rmSync(m, { recursive: true, force: true })
  }
})

function tmpfs(sizeMb: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'custody-enospc-'))
  mountTmpfs(dir, sizeMb)
  mounts.push(dir)
  return dir
}

const record = (seq: number): CustodyRecord => ({ seq, topic: 'hall/h1/counter/w01/event/evaluated', payload: Buffer.alloc(400, 65), qos: 1, retain: false, at: Date.now() })

describe.skipIf(!canMount)('custody store on a disk that fills up', () => {
  it('everything it acknowledged after a full disk is still there after a reopen', async () => {
    const dir = tmpfs(16)
    const store = new LevelCustodyStore(join(dir, 'custody'))
    await store.open()
    let seq = 1
    const acked: number[] = []
    const write = async () => {
      const r = record(seq++)
      try {
        await store.write([r], [], true)
        acked.push(r.seq)
        return true
      } catch {
        return false
      }
    }
    for (let i = 0; i < 50; i++) expect(await write()).toBe(true)
    const ballast = fillUp(dir)
    let failed = 0
    for (let i = 0; i < 100; i++) if (!(await write())) failed++
    expect(failed).toBeGreaterThan(0)
    rmSync(ballast)
    for (let i = 0; i < 100; i++) await write()
    expect(acked.length).toBeGreaterThanOrEqual(150)
    await store.close()

    const again = new LevelCustodyStore(join(dir, 'custody'))
    await again.open()
    const kept = (await again.read(0, 10_000)).map((r) => r.seq)
    await again.close()
    expect(kept.filter((s) => acked.includes(s))).toEqual(acked)
  })
})
