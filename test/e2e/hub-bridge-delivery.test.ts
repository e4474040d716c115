import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient, type IPublishPacket } from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { user, writeUsers, connectAs, closeAll, startTestHub, type TestHub, type TestUser } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { freePort } from '../support/ports.ts'
import { eventually, command } from '../support/probe.ts'

/**
 * Issue 22: the hub delivers central's commands to connected boards from memory
 * (hub/memory-first-outgoing.ts). Central's PUBACK still promises the command
 * survives a kill -9 of the hub: the bridge acknowledges it only once the board
 * has PUBACKed it or the hub has written it to disk, at a short deadline.
 */

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')

/** A board's persistent session that records its commands and, while `holding`, keeps their PUBACKs back. */
async function boardSession(port: number, u: TestUser, holding: boolean): Promise<{ client: MqttClient; received: string[]; release(): void }> {
  const client = await connectAs(port, u, { clean: false })
  const received: string[] = []
  const held: Array<() => void> = []
  let hold = holding
  client.handleMessage = (packet: IPublishPacket, done) => {
    received.push(String((JSON.parse(packet.payload.toString()) as { id: string }).id))
    if (hold) held.push(() => done())
    else done()
  }
  await client.subscribeAsync(topics.counterCommands(H, u.counter!), { qos: 1 })
  return {
    client,
    received,
    release() {
      hold = false
      for (const ack of held.splice(0)) ack()
    },
  }
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

/** The bridge is subscribed once a command through it arrives: warm-up commands to w02 until one does. */
async function bridgePasses(centralApp: MqttClient, quick: { received: string[] }): Promise<void> {
  await eventually(async () => {
    await centralApp.publishAsync(topics.cmd(H, 'w02', 'sync'), JSON.stringify(command({}, { id: `warm-${Date.now()}` })), { qos: 1 })
    return eventually(() => quick.received.length > 0, 1_000, 'a warm-up command at w02')
  }, 15_000, 'the bridge to pass commands')
}

/** A hub on disk bridged to a real Mosquitto, w01 holding its PUBACKs and w02 not; returned once every command so far is acknowledged to central. */
async function deliveryHall(): Promise<{ hub: TestHub; slow: Awaited<ReturnType<typeof boardSession>>; quick: Awaited<ReturnType<typeof boardSession>>; centralApp: MqttClient }> {
  const central = await Central.start()
  cleanups.push(() => central.dispose())
  const dataDir = await mkdtemp(join(tmpdir(), 'hub-delivery-'))
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
  const hub: TestHub = await startTestHub([w01, w02], {
    hall: H,
    dataDir,
    upstream: { url: central.url, clientId: `hub-${H}` },
    bridge: { reconnectMinMs: 100, reconnectMaxMs: 400, deliveryDeadlineMs: 60_000 },
  })
  cleanups.push(() => hub.stop())
  const slow = await boardSession(hub.hub.port, w01, true)
  const quick = await boardSession(hub.hub.port, w02, false)
  const centralApp = await mqtt.connectAsync(central.url, { clientId: 'central-app' })
  cleanups.push(() => closeAll([slow.client, quick.client, centralApp]))
  await bridgePasses(centralApp, quick)
  // Barrier: the last command sent comes after every warm-up; once it is in, all are, and each is acknowledged to central.
  await centralApp.publishAsync(topics.cmd(H, 'w02', 'sync'), JSON.stringify(command({}, { id: 'settled' })), { qos: 1 })
  await eventually(() => quick.received.includes('settled'), 5_000, 'the last warm-up at w02')
  await eventually(() => hub.hub.counters.bridgedDown === quick.received.length, 5_000, 'every warm-up acknowledged to central')
  return { hub, slow, quick, centralApp }
}

/**
 * The hub as its own process (data on disk, /metrics served) bridged to a real Mosquitto; w01 holds its
 * PUBACKs, w02 does not; returned once the bridge passes commands. `hall.hub` is replaced by a restart.
 */
async function processHall(tag: string, deliveryDeadlineMs: number) {
  const dir = await mkdtemp(join(tmpdir(), `hub-delivery-${tag}-`))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const central = await Central.start()
  cleanups.push(() => central.dispose())
  const port = await freePort()
  const httpPort = await freePort()
  const credentialsFile = join(dir, 'credentials.json')
  await writeUsers(credentialsFile, [w01, w02])
  const configPath = join(dir, 'hub.json')
  const config = { hall: H, host: '127.0.0.1', port, credentialsFile, dataDir: join(dir, 'data'), http: { port: httpPort }, upstream: { url: central.url, clientId: `hub-${H}` }, bridge: { reconnectMinMs: 100, reconnectMaxMs: 400, deliveryDeadlineMs } }
  await writeFile(configPath, JSON.stringify(config))
  const hall = { central, port, configPath, hub: await HubProcess.start(configPath, port) }
  cleanups.push(() => hall.hub.kill('SIGKILL'))
  const slow = await boardSession(port, w01, true)
  const quick = await boardSession(port, w02, false)
  const centralApp = await mqtt.connectAsync(central.url, { clientId: 'central-app' })
  cleanups.push(() => closeAll([slow.client, quick.client, centralApp]))
  await bridgePasses(centralApp, quick)
  /** Messages from central the hub counts as safe in the hall, from its /metrics. */
  const bridgedDown = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    const m = /^counter_edge_messages_bridged_total\{[^}]*direction="down"[^}]*\} (\d+)/m.exec(text)
    return m ? Number(m[1]) : -1
  }
  return Object.assign(hall, { slow, quick, centralApp, bridgedDown })
}

describe('commands from central and the memory-first session store', () => {
  it('central is not acknowledged while the board holds its PUBACK and the deadline has not passed; it is once the board acknowledges', async () => {
    const { hub, slow, quick, centralApp } = await deliveryHall()
    const before = hub.hub.counters.bridgedDown

    await centralApp.publishAsync(topics.cmd(H, 'w01', 'call'), JSON.stringify(command({ ticket: 'A001' }, { id: 'held-call' })), { qos: 1 })
    await eventually(() => slow.received.includes('held-call'), 5_000, 'the call at w01')
    // Barrier: a publish through the same broker to the other board completes after the call's own publish did.
    await new Promise<void>((r) => hub.hub.broker.aedes.publish({ cmd: 'publish', topic: topics.cmd(H, 'w02', 'sync'), payload: Buffer.from(JSON.stringify(command({}, { id: 'barrier' }))), qos: 1, retain: false, dup: false }, () => r()))
    await eventually(() => quick.received.includes('barrier'), 5_000, 'the barrier at w02')
    expect(hub.hub.counters.bridgedDown).toBe(before)

    slow.release()
    await eventually(() => hub.hub.counters.bridgedDown === before + 1, 5_000, 'central acknowledged once the board was')
  }, 40_000)

  it("a board holding its PUBACK does not hold back central's next command to another board (the bridge reads on, and acknowledges in order)", async () => {
    const { hub, slow, quick, centralApp } = await deliveryHall()
    const before = hub.hub.counters.bridgedDown

    await centralApp.publishAsync(topics.cmd(H, 'w01', 'call'), JSON.stringify(command({ ticket: 'A001' }, { id: 'held-call' })), { qos: 1 })
    await centralApp.publishAsync(topics.cmd(H, 'w02', 'call'), JSON.stringify(command({ ticket: 'B001' }, { id: 'next-call' })), { qos: 1 })
    // Before, the bridge read nothing more from central until w01 acknowledged (or the 60 s deadline): w02 waited with it.
    await eventually(() => quick.received.includes('next-call'), 5_000, "w02's call while w01 still holds its PUBACK")
    expect(slow.received).toContain('held-call')
    await eventually(() => hub.hub.counters.bridgedDown === before + 1, 5_000, "w02's call safe in the hall")
    slow.release()
    await eventually(() => hub.hub.counters.bridgedDown === before + 2, 5_000, "w01's call safe once its board acknowledged")
  }, 40_000)

  it('a clean stop of the hub process writes what a board has not acknowledged; the board gets it from the next run', async () => {
    // A deadline far away: at the stop the command is in the hub's memory only.
    const hall = await processHall('stop', 60_000)
    const { slow, quick, centralApp } = hall
    await centralApp.publishAsync(topics.cmd(H, 'w01', 'call'), JSON.stringify(command({ ticket: 'A003' }, { id: 'call-before-stop' })), { qos: 1 })
    await eventually(() => slow.received.includes('call-before-stop'), 5_000, 'the call at w01, its PUBACK held')

    const how = await hall.hub.kill('SIGTERM')
    expect(how.code).toBe(0)
    await closeAll([slow.client, quick.client])
    // Central was never acknowledged and would send the command again: take it away, so only the hub's disk can deliver it.
    await hall.central.stopProcess()
    hall.hub = await HubProcess.start(hall.configPath, hall.port)
    const back = await boardSession(hall.port, w01, false)
    cleanups.push(() => closeAll([back.client]))
    await eventually(() => back.received.includes('call-before-stop'), 10_000, 'the call delivered again after the restart')
  }, 60_000)

  it('kill -9 of the hub after a slow board held its PUBACK past the deadline: the command was on disk, and the board gets it after the restart', async () => {
    const hall = await processHall('kill', 50)
    const { slow, quick, centralApp } = hall
    await centralApp.publishAsync(topics.cmd(H, 'w01', 'call'), JSON.stringify(command({ ticket: 'A002' }, { id: 'call-before-kill' })), { qos: 1 })
    await centralApp.publishAsync(topics.cmd(H, 'w02', 'sync'), JSON.stringify(command({}, { id: 'after-the-call' })), { qos: 1 })
    await eventually(() => slow.received.includes('call-before-kill'), 5_000, 'the call at w01, its PUBACK held')
    await eventually(() => quick.received.includes('after-the-call'), 10_000, 'the next command at w02')
    // Barrier: the bridge counts a message from central once it is safe in the hall. Every command w02 got, and the
    // call w01 never acknowledged: the call was written to disk at its deadline.
    await eventually(async () => (await hall.bridgedDown()) === quick.received.length + 1, 10_000, 'the held call safe (on disk) at the hub')

    const how = await hall.hub.kill('SIGKILL')
    expect(how.signal).toBe('SIGKILL')
    await closeAll([slow.client, quick.client])
    // Central was never acknowledged for it either way: take it away, so only the hub's disk can deliver the call.
    await hall.central.stopProcess()
    hall.hub = await HubProcess.start(hall.configPath, hall.port)
    const back = await boardSession(hall.port, w01, false)
    cleanups.push(() => closeAll([back.client]))
    await eventually(() => back.received.includes('call-before-kill'), 10_000, 'the call delivered again after the restart')
  }, 60_000)
})
