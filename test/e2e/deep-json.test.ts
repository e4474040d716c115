import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { MAX_PAYLOAD_BYTES, topics } from '../../edge/protocol/index.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { connectAs, subscribeOutcome, closeAll, user, writeUsers, CapturedLog } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { Recorder, command, eventually } from '../support/probe.ts'
import { retainedAtHub } from '../support/hub-tap.ts'

/**
 * A payload that parses but nests thousands deep (10 KiB of brackets, inside the size limit)
 * overflowed the stack of whatever wrote it back as JSON: the hub's hall view died on a command
 * from central on its way to a board and, sent retained as central's status, at every start after.
 * Now such a payload is refused where it is decoded, and the hub outlives it, restarts included.
 */
const H = 'h1'
const w01 = user('board', H, 'w01')
const DEPTH = 5_000
const deep = (id: string, field: string, extra: Record<string, unknown>) =>
  JSON.stringify({ id, ...extra, [field]: '@' }).replace('"@"', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`)

describe('a payload nested thousands deep, from central', () => {
  let central: Central
  let dataDir: string
  let credentialsFile: string
  let hub: RunningHub | null = null
  let probe: MqttClient
  const open: MqttClient[] = []
  const log = new CapturedLog()
  const start = () => startHub({ hall: H, port: 0, credentialsFile, dataDir, upstream: { url: central.url }, bridge: { reconnectMinMs: 100 } }, log.logger)

  beforeAll(async () => {
    central = await Central.start()
    dataDir = await mkdtemp(join(tmpdir(), 'deep-json-'))
    credentialsFile = join(dataDir, 'credentials.json')
    await writeUsers(credentialsFile, [w01])
    probe = await mqtt.connectAsync(central.url, { clientId: 'central-app', reconnectPeriod: 0 })
    await probe.subscribeAsync(`hall/${H}/#`, { qos: 1 })
    hub = await start()
  })
  afterAll(async () => {
    await closeAll([...open, probe])
    await hub?.stop()
    await central?.dispose()
    await rm(dataDir, { recursive: true, force: true })
  })

  /** A board of this hub, its commands recorded; a plain command sent after `poison` reaching it says the hub carried on. */
  async function boardAt(h: RunningHub) {
    const board = await connectAs(h.port, w01)
    open.push(board)
    const got = Recorder.of(board).messages
    expect(await subscribeOutcome(board, topics.counterCommands(H, 'w01'))).toBe('granted')
    return got
  }

  it('a command: carried to the board as it came, and the hub goes on', async () => {
    await eventually(() => hub!.hallView.snapshot().bridge?.state === 'connected', 10_000, 'the bridge up')
    const got = await boardAt(hub!)
    const poison = deep('deep-1', 'ticket', { expires: new Date(Date.now() + 60_000).toISOString() })
    expect(Buffer.byteLength(poison)).toBeLessThan(MAX_PAYLOAD_BYTES)
    await probe.publishAsync(topics.cmd(H, 'w01', 'call'), poison, { qos: 1 })
    const after = command({ ticket: 'A001' }, { id: 'after-deep' })
    await probe.publishAsync(topics.cmd(H, 'w01', 'call'), JSON.stringify(after), { qos: 1 })
    await eventually(() => got.find((m) => m.payload.id === 'after-deep'), 10_000, 'the plain command after it at the board')
    // The board judges what it is sent (it refuses this too-large, naming the id); the hub only carries it.
    expect(got.map((m) => m.payload.id)).toEqual(['deep-1', 'after-deep'])
  })

  it("as central's status, retained: the hub keeps it, goes on, and starts again with it kept", async () => {
    await probe.publishAsync(topics.centralStatus(H), deep('unused', 'online', { ts: new Date().toISOString() }), { qos: 1, retain: true })
    await eventually(async () => (await retainedAtHub(hub!, topics.centralStatus(H))).length > 0, 10_000, "central's status retained at the hub")
    expect(hub!.hallView.snapshot().central?.online).not.toEqual(expect.any(Array))
    // The restart replays what the hub kept retained, the deep status with it.
    await hub!.stop()
    hub = null
    hub = await start()
    expect(hub.hallView.snapshot().central).toBeNull()
    const got = await boardAt(hub)
    await eventually(() => hub!.hallView.snapshot().bridge?.state === 'connected', 10_000, 'the bridge up again')
    await probe.publishAsync(topics.cmd(H, 'w01', 'sync'), JSON.stringify(command({}, { id: 'after-restart' })), { qos: 1 })
    await eventually(() => got.find((m) => m.payload.id === 'after-restart'), 10_000, 'a command through the restarted hub')
    expect(log.lines.filter((l) => Number(l.level) >= 50)).toEqual([])
  })
})
