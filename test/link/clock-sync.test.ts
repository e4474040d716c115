import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { SyncedClock, defaultSyncFallback, probeClockSync } from '../../edge/link/clock-sync.ts'
import { EnvelopeStamper } from '../../edge/link/envelope-stamper.ts'
import { eventually } from '../support/probe.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clock-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A stand-in timedatectl: a real executable that answers as the real one does. */
async function timedatectl(answer: string, exitCode = 0): Promise<string> {
  const path = join(dir, 'timedatectl')
  await writeFile(path, `#!/bin/sh\n[ "$1 $2 $3 $4" = "show -p NTPSynchronized --value" ] || exit 9\necho ${answer}\nexit ${exitCode}\n`)
  await chmod(path, 0o755)
  return path
}

describe('clock sync check', () => {
  it('trusts the timesyncd flag file when it is there', async () => {
    await writeFile(join(dir, 'synchronized'), '')
    expect(await probeClockSync({ flagFile: join(dir, 'synchronized'), systemdDir: join(dir, 'none') })).toBe(true)
  })

  it('asks timedatectl on a systemd machine without the flag (chrony, ntpd), and reads yes and no', async () => {
    await mkdir(join(dir, 'system'))
    const opts = { flagFile: join(dir, 'absent'), systemdDir: join(dir, 'system') }
    expect(await probeClockSync({ ...opts, timedatectl: await timedatectl('no') })).toBe(false)
    expect(await probeClockSync({ ...opts, timedatectl: await timedatectl('yes') })).toBe(true)
    expect(await probeClockSync({ ...opts, timedatectl: await timedatectl('', 1) })).toBeNull()
    expect(await probeClockSync({ ...opts, timedatectl: join(dir, 'not-installed') })).toBeNull()
  })

  it('cannot tell without systemd', async () => {
    expect(await probeClockSync({ flagFile: join(dir, 'absent'), systemdDir: join(dir, 'absent-too') })).toBeNull()
  })

  it('when it cannot tell: not synced on a Linux board with systemd, synced elsewhere', () => {
    expect(defaultSyncFallback('linux', true)).toBe(false)
    expect(defaultSyncFallback('linux', false)).toBe(true)
    expect(defaultSyncFallback('darwin', false)).toBe(true)
  })

  it('stamps every message from a cached answer that a timer refreshes', async () => {
    let answer: boolean | null = null
    let probes = 0
    const clock = new SyncedClock({ log: silentLogger(), fallback: false, intervalMs: 30, probe: async () => (probes++, answer) })
    await clock.start()
    const stamper = new EnvelopeStamper('w01', 'b00t', clock)
    expect(stamper.next().synced).toBe(false)
    answer = true
    for (let i = 0; i < 1000; i++) stamper.next()
    expect(probes).toBe(1) // stamping never probes
    // The refresh timer's next probe picks the new answer up.
    await eventually(() => stamper.next().synced, 2_000, 'the timer to refresh the cached answer to synced')
    answer = null
    await eventually(() => !clock.synced(), 2_000, 'the timer to fall back to not synced')
    clock.stop()
  })
})
