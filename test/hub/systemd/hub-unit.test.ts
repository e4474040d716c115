import { describe, it, expect } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { hubUnitEnvironment } from '../../support/systemd-units.ts'

const run = promisify(execFile)
const REPO = fileURLToPath(new URL('../../../', import.meta.url))

describe("the hub's systemd unit", () => {
  // Node refuses to start at all on an option NODE_OPTIONS may not carry, and systemd would restart
  // the hub every two seconds for ever: the unit's environment must start this Node.
  it('gives an environment this Node starts with, and its heap settings take', async () => {
    const env = await hubUnitEnvironment(REPO)
    expect(env.NODE_OPTIONS).toBeDefined()
    const probe = "const v8=require('node:v8');const a=[];for(let i=0;i<3e6;i++)a.push({i});console.log(JSON.stringify({arenas:process.env.MALLOC_ARENA_MAX,newSpace:v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size}))"
    const { stdout, stderr } = await run(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH ?? '', ...env } })
    expect(stderr).toBe('')
    const got = JSON.parse(stdout) as { arenas: string; newSpace: number }
    expect(got.arenas).toBe(env.MALLOC_ARENA_MAX)
    // Past Node's default of 16 MB a half: the young generation has grown under the allocation above.
    expect(got.newSpace).toBeGreaterThan(2 * 16 * 1024 * 1024)
  })
})
