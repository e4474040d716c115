import { describe, it, expect, afterAll } from 'vitest'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { eventExamples } from '../../../edge/protocol/index.ts'
import { encodeWav } from '../../../hub/announcer/wav.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'

const H = 'h1'
const w03 = user('board', H, 'w03')
const W3 = { number: '3', name: '3号窗口' }
const CLIPS = ['请', '号', '到', '号窗口', '办理', ...'0123456789', ...'ABC']

/** A short clip per name: enough for the announcer to say a call (what it says is read elsewhere, announcer.test.ts). */
async function writePack(voiceDir: string): Promise<void> {
  await mkdir(join(voiceDir, 'generated', 'zh'), { recursive: true })
  for (const [i, name] of CLIPS.entries()) {
    const samples = new Int16Array(80).fill(1000 + i)
    await writeFile(join(voiceDir, 'generated', 'zh', `${name}.wav`), encodeWav({ rate: 16000, samples }))
  }
}

/**
 * A board resends a `called` the hub took but never acknowledged (the hub was killed before its
 * PUBACK). The hub restarted on its data dir keeps the call in its feed: the announcer must not say
 * it again, long after, to an applicant who heard it already.
 */
describe('announcer across a hub restart', () => {
  let dir: string
  const hubs: RunningHub[] = []
  const open: MqttClient[] = []

  afterAll(async () => {
    await closeAll(open)
    for (const h of hubs) await h.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it("does not say again a call the hub kept in its feed before the restart; a new call is said", async () => {
    dir = await mkdtemp(join(tmpdir(), 'announcer-restart-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w03])
    await writePack(join(dir, 'voice'))
    const config = {
      hall: H,
      port: 0,
      credentialsFile,
      dataDir: join(dir, 'data'),
      http: { port: 0 },
      announcer: { voiceDir: join(dir, 'voice'), makeVoicePack: false, output: { dir: join(dir, 'out') }, clipGapMs: 0, repeatGapMs: 0 },
    }
    const called = (id: string, ticket: string) => JSON.stringify({ ...eventExamples.called, ts: new Date().toISOString(), id, ticket, window: W3 })
    const topic = `hall/${H}/counter/w03/event/called`

    const first = await startHub(config, new CapturedLog().logger)
    hubs.push(first)
    const board = await connectAs(first.port, w03)
    expect(await publishOutcome(board, topic, called('call-A023', 'A023'))).toBe('acked')
    await eventually(() => first.announcer!.recent().some((a) => a.id === 'call-A023' && a.status === 'said'), 10_000, 'A023 said by the first hub')
    await board.endAsync()
    await first.stop()
    hubs.pop()

    const second = await startHub(config, new CapturedLog().logger)
    hubs.push(second)
    const again = await connectAs(second.port, w03)
    open.push(again)
    // The board's journal sends the unacknowledged call again, then the next call: the barrier.
    expect(await publishOutcome(again, topic, called('call-A023', 'A023'))).toBe('acked')
    expect(await publishOutcome(again, topic, called('call-A024', 'A024'))).toBe('acked')
    await eventually(() => second.announcer!.recent().some((a) => a.id === 'call-A024' && a.status === 'said'), 10_000, 'A024 said by the second hub')
    expect(second.announcer!.recent().map((a) => [a.id, a.status])).toEqual([['call-A024', 'said']])
  })
})
