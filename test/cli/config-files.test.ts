import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readConfigFile } from '../../cli/config-file.ts'
import { hubConfigSchema, hubFileSchema } from '../../hub/config.ts'
import { boardFileSchema } from '../../edge/config.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-files-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function file(name: string, content: unknown): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(content))
  return path
}

describe('the hub config file', () => {
  it('fills in an installed hub\'s defaults: every address, the MQTT port', async () => {
    const c = await readConfigFile(await file('hub.json', { hall: 'hall-1', credentialsFile: '/etc/creds.json' }), hubFileSchema)
    expect(c).toMatchObject({ hall: 'hall-1', host: '0.0.0.0', port: 1883 })
  })

  it('where a hub built in code (a test, the simulator) stays on loopback', () => {
    expect(hubConfigSchema.parse({ hall: 'hall-1', port: 0, credentialsFile: '/c' }).host).toBe('127.0.0.1')
  })

  it('suggests the key a misspelled one stands for', async () => {
    await expect(readConfigFile(await file('typo.json', { hall: 'hall-1', credentialsFile: '/c', prot: 1884 }), hubFileSchema)).rejects.toThrow('typo.json: 未知的键 "prot"，是不是 "port"？ / unknown key "prot" (did you mean "port"?)')
  })

  it('refuses an unknown field or limit, naming it', async () => {
    await expect(readConfigFile(await file('a.json', { hall: 'hall-1', credentialsFile: '/c', colour: 'red' }), hubFileSchema)).rejects.toThrow(/a\.json: 未知的键 "colour" \/ unknown key "colour"/)
    await expect(readConfigFile(await file('b.json', { hall: 'hall-1', credentialsFile: '/c', limits: { maxPayloadBytes: 10, noSuchLimit: 1 } }), hubFileSchema)).rejects.toThrow(/b\.json: limits: .*noSuchLimit/)
    await expect(readConfigFile(await file('c.json', { hall: 'hall-1', credentialsFile: '/c', redis: { url: 'http://x' } }), hubFileSchema)).rejects.toThrow(/c\.json: redis\.url: 格式不对 \/ a redis:\/\/ or rediss:\/\/ URL/)
  })
})

describe('the board config file', () => {
  const board = { hall: 'hall-1', counter: 'w01', board: 'sim-window', username: 'hall-1-w01', password: 'pw' }

  it('parses the hub addresses it lists, in order', async () => {
    const c = await readConfigFile(await file('board.json', { ...board, hub: ['mqtts://hub-a.lan', 'hub-b.lan:1884'] }), boardFileSchema)
    expect(c.hub).toEqual([
      { host: 'hub-a.lan', port: 8883, tls: true },
      { host: 'hub-b.lan', port: 1884, tls: false },
    ])
  })

  it('refuses a hub address it cannot use, naming which one', async () => {
    await expect(readConfigFile(await file('board.json', { ...board, hub: ['mqtt://ok:1883', 'http://hub'] }), boardFileSchema)).rejects.toThrow(/board\.json: hub\.1: .*scheme must be mqtt:\/\/ or mqtts:\/\//)
  })

  it('takes the video hooks from the board file (relay mode, NVR text line, hall time zone), and names a wrong one', async () => {
    const c = await readConfigFile(await file('board.json', { ...board, hub: ['mqtt://hub'], video: { timeZone: 'Asia/Shanghai', textLine: { host: '10.1.0.20', port: 9000 } } }), boardFileSchema)
    expect(c.video).toMatchObject({ relay: 'hold', timeZone: 'Asia/Shanghai', textLine: { host: '10.1.0.20', port: 9000, template: '{counter} {ticket} {action} {ts}' } })
    await expect(readConfigFile(await file('board.json', { ...board, hub: ['mqtt://hub'], video: { timeZone: 'Beijing' } }), boardFileSchema)).rejects.toThrow(/board\.json: video\.timeZone: 取值无效 \/ expected an IANA time zone/)
    await expect(readConfigFile(await file('board.json', { ...board, hub: ['mqtt://hub'], video: { textLine: { host: 'nvr', port: 9000, template: '{officer} {ticket}' } } }), boardFileSchema)).rejects.toThrow(/officer names are never sent/)
  })

  it('names a misspelled key beside the required key it stands for, in Chinese and English', async () => {
    const { board: _b, ...rest } = board
    await expect(readConfigFile(await file('typo.json', { ...rest, bord: 'sim-window', hub: ['mqtt://hub'] }), boardFileSchema)).rejects.toThrow(
      'typo.json: 缺少 "board"，却有未知的键 "bord"，是不是 "board"？ / "board" missing, and unknown key "bord" (did you mean "board"?)',
    )
    await expect(readConfigFile(await file('hubstr.json', { ...board, hub: 'mqtt://hub' }), boardFileSchema)).rejects.toThrow('hubstr.json: hub: 应为数组 [...]，却是字符串 / expected array, received string')
    await expect(readConfigFile(await file('w03.json', { ...board, counter: 'W03', hub: ['mqtt://hub'] }), boardFileSchema)).rejects.toThrow(/w03\.json: counter: 须为 1–32 个字符.* \/ expected 1–32 characters a–z/)
  })

  it('says in both languages that a file is missing or not JSON', async () => {
    const missing = join(dir, 'nope.json')
    await expect(readConfigFile(missing, boardFileSchema)).rejects.toThrow(`无法读取配置文件 ${missing}：文件不存在 / cannot read --config ${missing}: the file does not exist`)
    const trunc = join(dir, 'trunc.json')
    await writeFile(trunc, '{"hall":')
    await expect(readConfigFile(trunc, boardFileSchema)).rejects.toThrow(`${trunc} 不是有效的 JSON（可能不完整或有多余的逗号）/ ${trunc} is not valid JSON: `)
  })

  it('wants a TLS certificate and its key together', async () => {
    await expect(readConfigFile(await file('board.json', { ...board, hub: ['mqtts://hub'], tls: { cert: '/c.pem' } }), boardFileSchema)).rejects.toThrow(/tls: 取值无效 \/ cert and key go together/)
  })
})
