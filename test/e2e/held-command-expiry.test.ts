import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { startTestHub, user, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { EdgeProcess } from '../support/edge-process.ts'
import { SteppedWallClock } from '../support/faketime.ts'
import { Recorder, command, eventually, type Received } from '../support/probe.ts'
import { polledSubscriber } from '../support/barrier.ts'

const H = 'h-held'
const w05 = user('board', H, 'w05')

/**
 * A window's board loses power; central calls a ticket to it and, with no reply before the
 * command expires, gives the ticket to another window. The board comes back before NTP has set
 * its clock (no real-time clock: it boots behind, at 1970 or at its last shutdown) and its session
 * at the hub hands it the held `call`. Judged by its own clock the call had not expired, and the
 * window put up a number that another window was serving. Real hub, real board process (its wall
 * clock an hour behind through libfaketime), real Mosquitto as central.
 */
describe('a command held for an offline board is judged by the hub\'s clock when the board comes back', () => {
  let central: Central
  let t: TestHub
  let app: MqttClient
  let atCentral: Received[]
  let dir: string
  let board: EdgeProcess

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'held-expiry-'))
    central = await Central.start()
    app = await mqtt.connectAsync(central.url, { clientId: 'central-held-expiry', reconnectPeriod: 0 })
    atCentral = Recorder.of(app).messages
    await app.subscribeAsync(`hall/${H}/#`, { qos: 1 })
    t = await startTestHub([w05], { hall: H, upstream: { url: central.url }, bridge: { reconnectMinMs: 100, stateIntervalMs: 50 } })
    await polledSubscriber(() => atCentral).waitFor((m) => m.topic === `hall/${H}/hub/bridge` && m.payload.state === 'connected', 10_000, 'the bridge connected')
    const clock = SteppedWallClock.in(dir)
    clock.stepTo(-3_600_000)
    board = new EdgeProcess({ hall: H, counter: 'w05', host: '127.0.0.1', port: t.hub.port, username: w05.username, password: w05.password, dataDir: join(dir, 'sd') }, () => {}, clock.env())
  })
  afterAll(async () => {
    await board?.kill()
    await app?.endAsync()
    await t?.stop()
    await central?.dispose()
    await rm(dir, { recursive: true, force: true })
  })

  const publisher = { publish: (topic: string, payload: unknown) => app.publishAsync(topic, JSON.stringify(payload), { qos: 1 }) }

  /** Until the board itself answers a sync (the hub answers unknown-counter until it has subscribed). */
  const boardAnswers = () =>
    eventually(async () => {
      const sync = command({})
      await publisher.publish(topics.cmd(H, 'w05', 'sync'), sync)
      const r = await polledSubscriber(() => atCentral).waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === sync.id, 10_000, 'the reply to a sync')
      return r.payload.boot === board.boot && r.payload.ok === true
    }, 20_000, 'the board answering a sync')

  /** Until the hub has seen the board's connection close: a command sent then is held in its session. */
  const boardGone = () => eventually(() => !(t.hub.broker.aedes as unknown as { clients: Record<string, unknown> }).clients[w05.username], 10_000, 'the hub seeing the board gone')

  it('answers an expired held call with expired, from the hub, and the window never shows it; a live one still reaches the board', async () => {
    await board.start()
    // The board is subscribed (its session holds its commands from now on) once it answers one.
    await boardAnswers()
    // An officer signs in: the window is open (idle), so a call would be acted on.
    const signIn = command({ action: 'sign-in', officer: 'P10482', officerName: 'Li Wei' })
    await publisher.publish(topics.cmd(H, 'w05', 'officer'), signIn)
    const signedIn = await polledSubscriber(() => atCentral).waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === signIn.id, 10_000, 'the reply to the sign-in')
    expect(signedIn.payload.ok).toBe(true)
    expect(await board.mode()).toBe('idle')
    expect(Math.abs((await board.wallClock())! - Date.now() + 3_600_000)).toBeLessThan(60_000)

    await board.kill()
    await boardGone()
    // Central's call, held by the hub while the board is off. Its expiry passes while it is held:
    // sent already past it here, as it would be after the board's minutes of reboot.
    const stale = command({ ticket: 'A023' }, { expiresInMs: -1_000 })
    await publisher.publish(topics.cmd(H, 'w05', 'call'), stale)
    await eventually(async () => (await t.hub.broker.persistence.queuedFor(w05.username)) >= 1, 10_000, 'the call held in the board\'s session')

    await board.start()
    const reply = await polledSubscriber(() => atCentral).waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === stale.id, 10_000, 'the reply to the held call')
    const hubBoot = atCentral.find((m) => m.topic === `hall/${H}/hub/status` && m.payload.online === true)!.payload.boot
    expect(reply.payload).toMatchObject({ ok: false, code: 'expired', boot: hubBoot })
    expect(String(reply.payload.message)).toContain('while the board was offline')
    // Barrier: a command sent after it is answered by the board, which takes its commands in order.
    await boardAnswers()
    expect(await board.mode()).toBe('idle')
    expect(atCentral.filter((m) => m.topic.startsWith(`hall/${H}/counter/w05/event/`) && m.payload.ticket === 'A023')).toEqual([])
    expect(atCentral.filter((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === stale.id)).toHaveLength(1)

    // A held call that has not expired is the board's to judge and act on, clock behind or not.
    await board.kill()
    await boardGone()
    const fresh = command({ ticket: 'A024' })
    await publisher.publish(topics.cmd(H, 'w05', 'call'), fresh)
    await eventually(async () => (await t.hub.broker.persistence.queuedFor(w05.username)) >= 1, 10_000, 'the second call held')
    await board.start()
    const ok = await polledSubscriber(() => atCentral).waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === fresh.id, 10_000, 'the reply to the fresh call')
    expect(ok.payload).toMatchObject({ ok: true, boot: board.boot })
    expect(await board.mode()).toBe('calling')
  })
})
