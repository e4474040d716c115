import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { MqttClient } from 'mqtt'
import type { Role } from '../../hub/credentials.ts'
import { startTestHub, user, connectAs, publishOutcome, subscribeOutcome, closeAll, type TestHub, type TestUser } from '../hub/support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'
import { markerBarrier, polledSubscriber } from '../support/barrier.ts'
import type { Received } from '../support/probe.ts'

/**
 * The ACL of docs/architecture.md §6 through a real hub and real MQTT clients: every
 * role against every topic class, wildcards, $SYS and retained commands.
 * A refused publish closes the client (MQTT 3.1.1 has no negative PUBACK), a
 * refused subscription gets SUBACK 0x80; each refusal leaves a log line.
 */

const H = 'h1'
const own = `hall/${H}/counter/w01`
const other = `hall/${H}/counter/w02`
const ROLES: Role[] = ['board', 'bridge', 'dashboard', 'technician']
const READERS: Role[] = ['bridge', 'dashboard', 'technician']

const users: Record<Role, TestUser> = {
  board: user('board', H, 'w01'),
  bridge: user('bridge', H),
  dashboard: user('dashboard', H),
  technician: user('technician', H),
}

interface PublishCase {
  name: string
  topic: string
  retain?: boolean
  allow: Role[]
  /** The refusal kind logged when denied; acl-publish unless said. */
  kind?: string
  /**
   * A board's own message the hub cannot take: acknowledged into the quarantine (hub/quarantine.ts)
   * instead of refused, so the board's journal does not send it again for ever. Other roles are refused.
   */
  quarantined?: true
}

const PUBLISH: PublishCase[] = [
  { name: 'own status, retained', topic: `${own}/status`, retain: true, allow: ['board'] },
  { name: 'own state, retained', topic: `${own}/state`, retain: true, allow: ['board'] },
  { name: 'own event', topic: `${own}/event/called`, allow: ['board'] },
  { name: 'own event, retained', topic: `${own}/event/called`, retain: true, allow: [], quarantined: true },
  { name: 'unknown event type', topic: `${own}/event/made-up`, allow: [], quarantined: true },
  { name: 'own window, outside the contract', topic: `${own}/firmware`, allow: [], quarantined: true },
  { name: 'own telemetry', topic: `${own}/telemetry`, allow: ['board'] },
  { name: 'own reply', topic: `${own}/reply`, allow: ['board'] },
  { name: "another window's event", topic: `${other}/event/evaluated`, allow: [] },
  { name: "another window's state", topic: `${other}/state`, retain: true, allow: [] },
  { name: 'command: call', topic: `${own}/cmd/call`, allow: ['bridge'] },
  { name: 'command: identify', topic: `${own}/cmd/identify`, allow: ['bridge', 'technician'] },
  { name: 'command, retained', topic: `${own}/cmd/identify`, retain: true, allow: [], kind: 'retained-command' },
  { name: 'unknown command', topic: `${own}/cmd/launch`, allow: [] },
  { name: 'hub status', topic: `hall/${H}/hub/status`, retain: true, allow: [] },
  { name: 'hub bridge state', topic: `hall/${H}/hub/bridge`, retain: true, allow: [] },
  { name: 'central status, retained', topic: `hall/${H}/central/status`, retain: true, allow: ['bridge'] },
  { name: 'another hall', topic: 'hall/h2/counter/w01/event/called', allow: [] },
  { name: '$SYS', topic: `$SYS/hub-${H}/new/clients`, allow: [] },
  { name: 'outside the contract', topic: 'lobby/display', allow: [] },
  { name: 'too deep', topic: `${own}/event/called/a/b/c`, allow: [], kind: 'topic-too-deep', quarantined: true },
]

interface SubscribeCase {
  filter: string
  allow: Role[]
  kind?: string
}

const SUBSCRIBE: SubscribeCase[] = [
  { filter: `${own}/cmd/+`, allow: ROLES },
  { filter: `${own}/cmd/call`, allow: ROLES },
  { filter: `${other}/cmd/+`, allow: READERS },
  { filter: `hall/${H}/counter/+/cmd/+`, allow: READERS },
  { filter: `${own}/cmd/#`, allow: READERS },
  { filter: `${own}/event/+`, allow: READERS },
  { filter: `hall/${H}/counter/+/state`, allow: READERS },
  { filter: `hall/${H}/#`, allow: READERS },
  { filter: '#', allow: [] },
  { filter: `+/${H}/#`, allow: [] },
  { filter: 'hall/+/counter/#', allow: [] },
  { filter: 'hall/h2/#', allow: [] },
  { filter: '$SYS/#', allow: [] },
  { filter: `${own}/cmd/+/a/b/c/d`, allow: [], kind: 'topic-too-deep' },
]

describe('ACL matrix through a real hub', () => {
  let t: TestHub
  const open: MqttClient[] = []

  beforeAll(async () => {
    t = await startTestHub(Object.values(users), { hall: H })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
  })

  async function tryPublish(role: Role, c: PublishCase, clientId: string) {
    const client = await connectAs(t.hub.port, users[role], { clientId })
    open.push(client)
    const outcome = await publishOutcome(client, c.topic, '{}', { retain: c.retain ?? false })
    await client.endAsync(true)
    return outcome
  }

  it('publish: every role against every topic class', async () => {
    const results: Array<{ role: Role; c: PublishCase; clientId: string; outcome: string }> = []
    // A board may only use its username as client id, so its cases run one by one; the others in parallel.
    for (const c of PUBLISH) results.push({ role: 'board', c, clientId: users.board.username, outcome: await tryPublish('board', c, users.board.username) })
    await Promise.all(
      READERS.flatMap((role) =>
        PUBLISH.map(async (c, i) => {
          const clientId = `${users[role].username}-p${i}`
          results.push({ role, c, clientId, outcome: await tryPublish(role, c, clientId) })
        }),
      ),
    )
    const quarantines = (r: { role: Role; c: PublishCase }) => r.role === 'board' && r.c.quarantined === true
    const table = results.map((r) => `${r.role} ${r.c.name}: ${r.outcome}`)
    const expected = results.map((r) => `${r.role} ${r.c.name}: ${r.c.allow.includes(r.role) || quarantines(r) ? 'acked' : 'closed'}`)
    expect(table).toEqual(expected)

    // What the board had acknowledged into the quarantine was kept there and logged, not refused.
    const kept = results.filter(quarantines)
    const keptAs = (kind: string) => kept.filter((r) => (r.c.kind ?? 'acl-publish') === kind).length
    expect(t.hub.counters.quarantined['acl-publish']).toBe(keptAs('acl-publish'))
    expect(t.hub.counters.quarantined['topic-too-deep']).toBe(keptAs('topic-too-deep'))
    for (const r of kept) expect(t.log.lines.find((l) => l.quarantined === (r.c.kind ?? 'acl-publish') && l.topic === r.c.topic), `quarantine line for ${r.c.name}`).toBeDefined()

    // Each refusal was logged, with its kind, the client and the topic.
    const denied = results.filter((r) => !r.c.allow.includes(r.role) && !quarantines(r))
    await eventually(() => t.log.refusals().length >= denied.length, 3000, 'refusal log lines')
    for (const r of denied) {
      const kind = r.c.kind ?? 'acl-publish'
      const line = t.log.refusals(kind).find((l) => l.client === r.clientId && l.topic === r.c.topic)
      expect(line, `log line for ${r.role} ${r.c.name}`).toBeDefined()
      expect(line!.level).toBe(40) // warn
    }
    const counted = t.hub.counters.refusals['acl-publish'] + t.hub.counters.refusals['retained-command'] + t.hub.counters.refusals['topic-too-deep']
    expect(counted).toBe(denied.length)
    // Clients dropping their sockets are not mistaken for malformed packets.
    expect(t.hub.counters.refusals['malformed-packet']).toBe(0)
    expect(t.log.text()).not.toContain(users.board.password)
  }, 40_000)

  it('subscribe: every role against wildcards, other windows, other halls and $SYS', async () => {
    const before = { ...t.hub.counters.refusals }
    const rows: string[] = []
    const expected: string[] = []
    for (const role of ROLES) {
      const clientId = role === 'board' ? users.board.username : `${users[role].username}-sub`
      const client = await connectAs(t.hub.port, users[role], { clientId })
      open.push(client)
      for (const c of SUBSCRIBE) {
        rows.push(`${role} ${c.filter}: ${await subscribeOutcome(client, c.filter)}`)
        expected.push(`${role} ${c.filter}: ${c.allow.includes(role) ? 'granted' : 'denied'}`)
      }
      // A refused subscription keeps the connection.
      expect(client.connected).toBe(true)
      for (const c of SUBSCRIBE.filter((s) => !s.allow.includes(role))) {
        const line = t.log.refusals(c.kind ?? 'acl-subscribe').find((l) => l.client === clientId && l.filter === c.filter)
        expect(line, `log line for ${role} ${c.filter}`).toBeDefined()
      }
      await client.endAsync(true)
    }
    expect(rows).toEqual(expected)
    const denied = ROLES.flatMap((r) => SUBSCRIBE.filter((s) => !s.allow.includes(r))).length
    const counted = t.hub.counters.refusals['acl-subscribe'] - before['acl-subscribe'] + t.hub.counters.refusals['topic-too-deep'] - before['topic-too-deep']
    expect(counted).toBe(denied)
  })

  it('a board hears only its own commands, and cannot impersonate another window by client id', async () => {
    const board = await connectAs(t.hub.port, users.board)
    open.push(board)
    const got: string[] = []
    const heard: Received[] = []
    board.on('message', (topic, payload) => {
      heard.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: false })
      if (!topic.endsWith('/cmd/sync')) got.push(topic)
    })
    expect(await subscribeOutcome(board, `${own}/cmd/+`)).toBe('granted')
    const bridge = await connectAs(t.hub.port, users.bridge, { clientId: 'h1-bridge-x' })
    open.push(bridge)
    expect(await publishOutcome(bridge, `${other}/cmd/call`, '{}')).toBe('acked')
    expect(await publishOutcome(bridge, `${own}/cmd/recall`, '{}')).toBe('acked')
    await eventually(() => got.length >= 1, 3000, 'the own command')
    // Barrier: a marker from the same bridge connection after both; the broker keeps one
    // publisher's messages in order, so another window's command would have come before it.
    await markerBarrier({ publish: (topic, body) => publishOutcome(bridge, topic, JSON.stringify(body)) }, polledSubscriber(() => heard), `${own}/cmd/sync`)
    expect(got).toEqual([`${own}/cmd/recall`])

    await expect(connectAs(t.hub.port, users.board, { clientId: 'h1-w02' })).rejects.toThrow(/Identifier rejected/i)
    expect(t.log.refusals('client-id-mismatch').some((l) => l.client === 'h1-w02' && l.username === 'h1-w01')).toBe(true)
  })
})
