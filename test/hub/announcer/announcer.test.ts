import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { eventExamples, topics } from '../../../edge/protocol/index.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { announcerConfigSchema, type AnnouncerConfig } from '../../../hub/announcer/announcer-config.ts'
import { Announcer } from '../../../hub/announcer/announcer.ts'
import { HallClock } from '../../../hub/announcer/hall-clock.ts'
import { FileSpeaker, type Speaker } from '../../../hub/announcer/speakers.ts'
import { VoicePack } from '../../../hub/announcer/voice-pack.ts'
import { encodeWav, type Pcm } from '../../../hub/announcer/wav.ts'
import { clipSequence, wavSamples } from '../../support/clip-sequence.ts'
import { letTimePass } from '../../support/pace.ts'
import { eventually } from '../../support/probe.ts'
import { settlesWithin } from '../../support/deadline.ts'

const ZH = ['请', '号', '到', '号窗口', '办理', ...'0123456789', ...'ABC']
const EN = ['number', 'please', 'go', 'to', 'window', ...'0123456789', ...'ABC']
const A012_TO_3 = ['请', 'A', '0', '1', '2', '号', '到', '3', '号窗口', '办理']

let dir: string
let seed = 1

/** A clip of noise no other clip shares, never zero at its ends, so the audio tells the clips apart. */
function noise(length: number, rate = 16000): Pcm {
  const samples = new Int16Array(length)
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    samples[i] = ((seed >> 8) % 20000) + (seed & 1 ? 500 : -500)
  }
  return { rate, samples }
}

async function writeClip(sub: string, name: string, pcm: Pcm): Promise<Int16Array> {
  await mkdir(join(dir, 'voice', sub), { recursive: true })
  await writeFile(join(dir, 'voice', sub, `${name}.wav`), encodeWav(pcm))
  return pcm.samples
}

/** The clips as the test knows them, by name: what it looks for in the audio. */
async function makePack(opts: { without?: string[]; english?: boolean } = {}): Promise<Map<string, Int16Array>> {
  const clips = new Map<string, Int16Array>()
  for (const name of ZH) if (!opts.without?.includes(name)) clips.set(name, await writeClip('generated/zh', name, noise(200 + 10 * clips.size)))
  if (opts.english) for (const name of EN) clips.set(`en:${name}`, await writeClip('generated/en', name, noise(150 + 10 * clips.size)))
  return clips
}

async function announcer(config: Partial<AnnouncerConfig> = {}, opts: { speaker?: Speaker; now?: () => number } = {}) {
  const log = silentLogger()
  const pack = await VoicePack.load(join(dir, 'voice'), log)
  const speaker = opts.speaker ?? new FileSpeaker({ dir: join(dir, 'out'), line: join(dir, 'line.wav') })
  const resolved = announcerConfigSchema.parse({ voiceDir: join(dir, 'voice'), output: { dir: join(dir, 'out') }, clipGapMs: 5, repeatGapMs: 20, languageGapMs: 10, ...config })
  return new Announcer({ hall: 'h1', config: resolved, pack, speaker, log, ...(opts.now ? { now: opts.now } : {}) })
}

/** A call made now on a synced board clock, unless `made` says otherwise: the examples' own ts is long past. */
function call(counter: string, id: string, ticket: string, window?: { number: string; name: string }, made: { ts?: string; synced?: boolean } = {}) {
  return [topics.event('h1', counter, 'called'), JSON.stringify({ ...eventExamples.called, ts: new Date().toISOString(), id, ticket, window, ...made })] as const
}

function recall(counter: string, id: string, ticket: string, window: { number: string; name: string }) {
  return [topics.event('h1', counter, 'recalled'), JSON.stringify({ ...eventExamples.recalled, ts: new Date().toISOString(), id, ticket, window })] as const
}

async function outFiles(): Promise<string[]> {
  return (await readdir(join(dir, 'out')).catch(() => [] as string[])).sort()
}

async function said(file: string, clips: Map<string, Int16Array>): Promise<string[]> {
  return clipSequence((await wavSamples(join(dir, 'out', file))).samples, clips).map((c) => c.clip)
}

const W3 = { number: '3', name: '3号窗口' }

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'announcer-test-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('announcer', () => {
  it('says 请 / A / 0 / 1 / 2 / 号 / 到 / 3 / 号窗口 / 办理 for A012 to window 3, read from the audio it wrote', async () => {
    const clips = await makePack()
    const a = await announcer()
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    const files = await outFiles()
    expect(files).toEqual(['000001-w03-A012.wav'])
    expect(await said(files[0]!, clips)).toEqual(A012_TO_3)
    expect(a.recent()).toMatchObject([{ id: 'e-1', counter: 'w03', ticket: 'A012', text: '请A012号到3号窗口办理', textEn: null, status: 'said', missing: [], clips: A012_TO_3 }])
    expect(a.health()).toEqual({ working: true, problem: null })
  })

  it('says each event once however many copies arrive; a recall is a new event, said twice', async () => {
    const clips = await makePack()
    const a = await announcer()
    a.offer(...call('w03', 'e-1', 'A012', W3))
    a.offer(...call('w03', 'e-1', 'A012', W3))
    a.offer(...recall('w03', 'e-2', 'A012', W3))
    a.offer(...recall('w03', 'e-2', 'A012', W3))
    await a.idle()
    const files = await outFiles()
    expect(files).toHaveLength(2)
    expect(await said(files[0]!, clips)).toEqual(A012_TO_3)
    expect(await said(files[1]!, clips)).toEqual([...A012_TO_3, ...A012_TO_3])
    expect(a.recent().map((r) => [r.id, r.type, r.times, r.status])).toEqual([['e-2', 'recalled', 2, 'said'], ['e-1', 'called', 1, 'said']])
  })

  it('derives the window from the counter id when an older board sends none', async () => {
    const clips = await makePack()
    const a = await announcer()
    a.offer(...call('w05', 'e-1', 'B2'))
    await a.idle()
    expect(await said((await outFiles())[0]!, clips)).toEqual(['请', 'B', '2', '号', '到', '5', '号窗口', '办理'])
  })

  it('reports a missing clip and says the rest', async () => {
    const clips = await makePack({ without: ['号窗口'] })
    const a = await announcer()
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    expect(await said((await outFiles())[0]!, clips)).toEqual(A012_TO_3.filter((c) => c !== '号窗口'))
    expect(a.recent()[0]).toMatchObject({ status: 'said', missing: ['号窗口'] })
  })

  it("takes the hall's own recording over the generated clip, at the pack's rate; refuses a stereo one and keeps the generated", async () => {
    const clips = await makePack()
    // 44.1 kHz recording: resampled to the pack's 16 kHz; what the audio then holds is the resampled clip.
    await writeClip('zh', '办理', noise(441, 44100))
    const stereo = encodeWav(noise(400))
    stereo.writeUInt16LE(2, 22)
    await mkdir(join(dir, 'voice', 'zh'), { recursive: true })
    await writeFile(join(dir, 'voice', 'zh', '请.wav'), stereo)
    const pack = await VoicePack.load(join(dir, 'voice'), silentLogger())
    expect(pack.rate).toBe(16000)
    expect(pack.clip('zh', '办理')!.length).toBe(160)
    expect(pack.clip('zh', '请')).toEqual(clips.get('请'))
    expect(pack.problems).toEqual([expect.objectContaining({ lang: 'zh', file: join(dir, 'voice', 'zh', '请.wav'), message: expect.stringMatching(/2 channels/) })])
    clips.set('办理', pack.clip('zh', '办理')!)
    const a = await announcer()
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    expect(await said((await outFiles())[0]!, clips)).toEqual(A012_TO_3)
  })

  it('says it in English after the Chinese when asked', async () => {
    const clips = await makePack({ english: true })
    const a = await announcer({ english: true })
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    expect(await said((await outFiles())[0]!, clips)).toEqual([...A012_TO_3, 'en:number', 'en:A', 'en:0', 'en:1', 'en:2', 'en:please', 'en:go', 'en:to', 'en:window', 'en:3'])
    expect(a.recent()[0]!.textEn).toBe('Number A012, please go to window 3')
  })

  it('keeps quiet in quiet hours, hall-local time: listed, not said', async () => {
    await makePack()
    // 13:30 UTC is 21:30 in Shanghai: inside 20:00–08:00 there, though not in UTC.
    let now = Date.parse('2025-03-04T13:30:00Z')
    const a = await announcer({ quietHours: { from: '20:00', to: '08:00' }, timeZone: 'Asia/Shanghai' }, { now: () => now })
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    expect(await outFiles()).toEqual([])
    expect(a.recent()[0]).toMatchObject({ status: 'quiet', localTime: '21:30:00' })
    now = Date.parse('2025-03-05T00:30:00Z') // 08:30 in Shanghai
    a.offer(...call('w03', 'e-2', 'A013', W3))
    await a.idle()
    expect(await outFiles()).toHaveLength(1)
    const clock = new HallClock('Asia/Shanghai')
    expect(clock.within(Date.parse('2025-03-04T23:59:00Z'), { from: '20:00', to: '08:00' })).toBe(true) // 07:59
    expect(clock.within(Date.parse('2025-03-05T00:00:00Z'), { from: '20:00', to: '08:00' })).toBe(false) // 08:00
    expect(clock.within(Date.parse('2025-03-05T04:00:00Z'), { from: '12:00', to: '13:00' })).toBe(true) // 12:00
    expect(clock.within(Date.parse('2025-03-05T04:00:00Z'), { from: '12:00', to: '12:00' })).toBe(false)
  })

  it("does not say a call older than maxDelayS by its board's synced clock (held in the journal through an outage); an unsynced one counts from the hub", async () => {
    await makePack()
    const now = Date.parse('2025-03-04T09:16:32Z')
    const a = await announcer({ maxDelayS: 60 }, { now: () => now })
    // Made 90 s ago on a synced clock: the hub has it only now, and it is too old to send anyone to a window.
    a.offer(...call('w03', 'e-old', 'A023', W3, { ts: '2025-03-04T09:15:02Z', synced: true }))
    // The same age on a clock never set means nothing: the wait counts from the hub's own time, as before.
    a.offer(...call('w03', 'e-unsynced', 'A024', W3, { ts: '2025-03-04T09:15:02Z', synced: false }))
    // 32 s old on a synced clock: within the limit.
    a.offer(...call('w03', 'e-recent', 'A025', W3, { ts: '2025-03-04T09:16:00Z', synced: true }))
    await a.idle()
    expect(a.recent().map((r) => [r.id, r.status])).toEqual([['e-recent', 'said'], ['e-unsynced', 'said'], ['e-old', 'late']])
    expect(await outFiles()).toEqual(['000001-w03-A024.wav', '000002-w03-A025.wav'])
  })

  it('never says two at once: two windows calling together are said one after the other, each whole', async () => {
    const clips = await makePack()
    const files = new FileSpeaker({ dir: join(dir, 'out'), line: join(dir, 'line.wav'), lineGapMs: 10 })
    let playing = 0
    let most = 0
    const order: string[] = []
    // The loudspeaker's port as a hall's would behave: busy for a while per announcement.
    const speaker: Speaker = {
      describe: 'a speaker that takes its time',
      async play(audio, label) {
        playing++
        most = Math.max(most, playing)
        order.push(`start ${label}`)
        await letTimePass(30, 'the speaker is busy saying the announcement')
        await files.play(audio, label)
        order.push(`end ${label}`)
        playing--
      },
    }
    const a = await announcer({}, { speaker })
    a.offer(...call('w03', 'e-1', 'A012', W3))
    a.offer(...call('w05', 'e-2', 'B7', { number: '5', name: '5号窗口' }))
    await a.idle()
    expect(most).toBe(1)
    expect(order).toEqual(['start w03-A012', 'end w03-A012', 'start w05-B7', 'end w05-B7'])
    const line = await wavSamples(join(dir, 'line.wav'))
    const seq = clipSequence(line.samples, clips)
    expect(seq.map((s) => s.clip)).toEqual([...A012_TO_3, '请', 'B', '7', '号', '到', '5', '号窗口', '办理'])
    // The second begins after the first has ended, with the line's gap between them.
    const endOfFirst = seq[9]!.at + clips.get('办理')!.length
    expect(seq[10]!.at - endOfFirst).toBeGreaterThanOrEqual(160)
  })

  it('ignores what is not a call event of its hall, and anything malformed', async () => {
    await makePack()
    const a = await announcer()
    a.offer(topics.event('h2', 'w03', 'called'), JSON.stringify({ ...eventExamples.called, id: 'x-1' }))
    a.offer(topics.event('h1', 'w03', 'service-started'), JSON.stringify(eventExamples['service-started']))
    a.offer(topics.event('h1', 'w03', 'called'), '{"not":"an event"')
    a.offer(topics.event('h1', 'w03', 'called'), JSON.stringify({ ...eventExamples.called, ticket: 'a 1' }))
    a.offer(topics.event('h1', 'w03', 'called'), JSON.stringify({ ...eventExamples.called, window: { number: '三', name: 'x' } }))
    await a.idle()
    expect(a.recent()).toEqual([])
    expect(await outFiles()).toEqual([])
  })

  it('without a voice pack: lists the announcement as silent and reports that it cannot speak', async () => {
    const a = await announcer()
    expect(a.health()).toEqual({ working: false, problem: expect.stringContaining('no voice pack') })
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await a.idle()
    expect(a.recent()[0]).toMatchObject({ status: 'silent', missing: A012_TO_3 })
    expect(await outFiles()).toEqual([])
  })
})

describe('announcer on a realtime file speaker (the simulated hall)', () => {
  it('stops at once while it paces a long announcement: the file is written, the hub stop does not wait out its length', async () => {
    // Clips of a second each: "请A012号到3号窗口办理" lasts ten seconds.
    for (const name of ZH) await writeClip('generated/zh', name, noise(16_000))
    const a = await announcer({}, { speaker: new FileSpeaker({ dir: join(dir, 'out'), realtime: true }) })
    a.offer(...call('w03', 'e-1', 'A012', W3))
    await eventually(async () => (await outFiles()).includes('000001-w03-A012.wav'), 5_000, 'the announcement written')
    const stopped = a.stop()
    expect(await settlesWithin(stopped, 2_000)).toBe(true)
    expect(a.recent()).toMatchObject([{ id: 'e-1', status: 'said' }])
  })
})
