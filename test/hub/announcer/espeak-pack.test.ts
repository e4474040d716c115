import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { defaultClipSources, makeVoicePack } from '../../../hub/announcer/espeak-pack.ts'
import { VoicePack } from '../../../hub/announcer/voice-pack.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-pack-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the default voice pack, from espeak-ng (test/setup/debian-packages.mjs installs it)', () => {
  it('has one clip per phrase, digit and letter, all PCM s16le mono at one rate, trimmed, loadable without a problem', async () => {
    const { written } = await makeVoicePack(dir, ['zh'])
    expect(written).toBe(5 + 10 + 26)
    const files = await readdir(join(dir, 'generated', 'zh'))
    for (const name of ['请', '号', '到', '号窗口', '办理', '0', '9', 'A', 'Z']) expect(files).toContain(`${name}.wav`)
    const pack = await VoicePack.load(dir, silentLogger())
    expect(pack.problems).toEqual([])
    expect(pack.size).toBe(41)
    expect(pack.rate).toBe(22050)
    // Speech, trimmed: each clip well under two seconds, none empty.
    for (const c of defaultClipSources(['zh'])) {
      const samples = pack.clip('zh', c.name)!
      expect(samples.length, c.name).toBeGreaterThan(pack.rate * 0.05)
      expect(samples.length, c.name).toBeLessThan(pack.rate * 2)
    }
    // Distinct clips: a test (and a listener) can tell 号 from 号窗口 and 0 from 1.
    expect(pack.clip('zh', '号')).not.toEqual(pack.clip('zh', '号窗口')!.subarray(0, pack.clip('zh', '号')!.length))
  })

  it('names the exact install command when espeak-ng is missing', async () => {
    await expect(makeVoicePack(dir, ['zh'], '/nonexistent/espeak-ng')).rejects.toThrow('install it with: sudo apt-get install -y espeak-ng / 未安装 espeak-ng，请运行：sudo apt-get install -y espeak-ng')
  })
})
