import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { Quarantine, QuarantineFullError, type QuarantinedMessage } from '../../hub/quarantine.ts'
import { CapturedLog } from './support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'quarantine-'))
  dirs.push(dir)
  return join(dir, 'quarantine.jsonl')
}

const message = (payload: Buffer, topic = 'hall/h1/counter/w01/event/made-up'): QuarantinedMessage => ({
  kind: 'acl-publish',
  reason: 'unknown event type "made-up"',
  client: 'h1-w01',
  counter: 'w01',
  topic,
  qos: 1,
  retain: false,
  payload,
})

const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('Quarantine', () => {
  it('appends one JSON line per message, the payload as text when it is UTF-8 and as base64 when not', async () => {
    const file = await tempFile()
    const q = new Quarantine({ file, maxBytes: 1 << 20, log: silentLogger(), now: () => new Date('2026-12-03T10:00:00Z') })
    await q.start()
    await Promise.all([q.keep(message(Buffer.from('{"id":"a-1","type":"made-up"}'))), q.keep(message(Buffer.from([0xff, 0x00, 0xc3])))])
    await q.stop()
    const [text, binary] = await lines(file)
    expect(text).toMatchObject({ ts: '2026-12-03T10:00:00.000Z', kind: 'acl-publish', client: 'h1-w01', counter: 'w01', topic: 'hall/h1/counter/w01/event/made-up', payload: '{"id":"a-1","type":"made-up"}', encoding: 'utf8' })
    expect(Buffer.from(binary!.payload as string, 'base64')).toEqual(Buffer.from([0xff, 0x00, 0xc3]))
    expect(binary!.encoding).toBe('base64')
  })

  it('keeps what an earlier run wrote and counts it against the limit; past the limit it refuses and writes nothing', async () => {
    const file = await tempFile()
    await writeFile(file, `${'x'.repeat(300)}\n`)
    const q = new Quarantine({ file, maxBytes: 600, log: silentLogger() })
    await q.start()
    await q.keep(message(Buffer.from('{"id":"b-1"}')))
    await expect(q.keep(message(Buffer.from('y'.repeat(400))))).rejects.toBeInstanceOf(QuarantineFullError)
    await expect(q.keep(message(Buffer.from('{"id":"b-2"}')))).rejects.toThrow(/reached its limit of 600 bytes; move it away/)
    await q.stop()
    const raw = await readFile(file, 'utf8')
    expect(raw.startsWith('x'.repeat(300))).toBe(true)
    expect(raw.split('\n').filter(Boolean)).toHaveLength(2)
  })

  it("bounds each client's share of the file, counting what an earlier run wrote; a full share leaves the others room", async () => {
    const file = await tempFile()
    const first = new Quarantine({ file, maxBytes: 4096, maxBytesPerClient: 1024, log: silentLogger() })
    await first.start()
    await first.keep(message(Buffer.from('a'.repeat(500))))
    await first.stop()
    const q = new Quarantine({ file, maxBytes: 4096, maxBytesPerClient: 1024, log: silentLogger() })
    await q.start()
    expect(q.bytesOf('h1-w01')).toBeGreaterThan(500)
    await expect(q.keep(message(Buffer.from('b'.repeat(500))))).rejects.toThrow(/h1-w01 has reached its share/)
    await q.keep({ ...message(Buffer.from('c'.repeat(500))), client: 'h1-w02', counter: 'w02' })
    await q.stop()
    expect((await lines(file)).map((l) => l.client)).toEqual(['h1-w01', 'h1-w02'])
  })

  it('without a file logs each message in full, its only record', async () => {
    const log = new CapturedLog()
    const q = new Quarantine({ file: null, maxBytes: 0, log: log.logger })
    await q.start()
    await q.keep(message(Buffer.from('{"id":"c-1"}')))
    await q.stop()
    await eventually(() => log.lines.find((l) => (l.quarantined as { payload?: string } | undefined)?.payload === '{"id":"c-1"}'), 2_000, 'the log line')
  })
})
