import { describe, it, expect } from 'vitest'
import { authorizeClientId, authorizePublish, authorizeSubscribe } from '../../hub/acl.ts'
import type { Principal } from '../../hub/credentials.ts'

const board: Principal = { username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01' }
const bridge: Principal = { username: 'hall-1-bridge', role: 'bridge', hall: 'hall-1', counter: null }
const dashboard: Principal = { username: 'hall-1-dash', role: 'dashboard', hall: 'hall-1', counter: null }
const tech: Principal = { username: 'hall-1-tech', role: 'technician', hall: 'hall-1', counter: null }

describe('ACL: a board acts only as its own window', () => {
  it.each([
    ['hall/hall-1/counter/w01/status', true],
    ['hall/hall-1/counter/w01/state', true],
    ['hall/hall-1/counter/w01/event/evaluated', false],
    ['hall/hall-1/counter/w01/telemetry', false],
    ['hall/hall-1/counter/w01/reply', false],
  ])('may publish %s (retain %s)', (topic, retain) => {
    expect(authorizePublish(board, topic, retain).ok).toBe(true)
  })

  it.each([
    ['hall/hall-1/counter/w02/event/evaluated', 'counter'],
    ['hall/hall-2/counter/w01/event/evaluated', 'hall'],
    ['hall/hall-1/counter/w01/cmd/call', 'cmd'],
    ['hall/hall-1/hub/status', 'hub-status'],
    ['hall/hall-1/central/status', 'central-status'],
    ['hall/hall-1/central/waiting', 'central-waiting'],
    ['hall/hall-1/counter/w01/event/made-up', 'unknown event'],
    ['$SYS/broker/x', '$'],
    ['hall/hall-1/counter/w01/extra/level', 'contract'],
  ])('may not publish %s', (topic, why) => {
    const d = authorizePublish(board, topic, false)
    expect(d.ok).toBe(false)
    if (!d.ok) expect(d.reason).toContain(why)
  })

  it('may not retain an event', () => {
    expect(authorizePublish(board, 'hall/hall-1/counter/w01/event/called', true).ok).toBe(false)
  })

  it('subscribes only to its own commands, without wildcards beyond cmd/+', () => {
    expect(authorizeSubscribe(board, 'hall/hall-1/counter/w01/cmd/+').ok).toBe(true)
    expect(authorizeSubscribe(board, 'hall/hall-1/counter/w01/cmd/call').ok).toBe(true)
    for (const f of ['hall/hall-1/counter/w02/cmd/+', 'hall/hall-1/counter/+/cmd/+', 'hall/hall-1/#', '#', '$SYS/#', 'hall/hall-1/counter/w01/cmd/#', 'hall/hall-1/counter/w01/event/+']) {
      expect(authorizeSubscribe(board, f).ok, f).toBe(false)
    }
  })
})

describe('ACL: other roles', () => {
  it('the bridge sends commands and central status in its hall only, never retained commands', () => {
    expect(authorizePublish(bridge, 'hall/hall-1/counter/w01/cmd/call', false).ok).toBe(true)
    expect(authorizePublish(bridge, 'hall/hall-1/counter/w01/cmd/call', true).ok).toBe(false)
    expect(authorizePublish(bridge, 'hall/hall-2/counter/w01/cmd/call', false).ok).toBe(false)
    expect(authorizePublish(bridge, 'hall/hall-1/counter/w01/event/called', false).ok).toBe(false)
    expect(authorizePublish(bridge, 'hall/hall-1/central/status', true).ok).toBe(true)
    expect(authorizePublish(bridge, 'hall/hall-1/central/waiting', true).ok).toBe(true)
    expect(authorizePublish(bridge, 'hall/hall-2/central/waiting', true).ok).toBe(false)
  })

  it('the dashboard reads its hall and writes nothing', () => {
    expect(authorizeSubscribe(dashboard, 'hall/hall-1/#').ok).toBe(true)
    expect(authorizeSubscribe(dashboard, 'hall/hall-2/#').ok).toBe(false)
    expect(authorizePublish(dashboard, 'hall/hall-1/counter/w01/cmd/identify', false).ok).toBe(false)
  })

  it('a technician may identify, self-test and sync, but not call', () => {
    expect(authorizePublish(tech, 'hall/hall-1/counter/w01/cmd/identify', false).ok).toBe(true)
    expect(authorizePublish(tech, 'hall/hall-1/counter/w01/cmd/call', false).ok).toBe(false)
  })
})

describe('ACL: client ids are bound to their account', () => {
  it('a board uses exactly its username', () => {
    expect(authorizeClientId(board, 'hall-1-w01', 'hall-1-w01', false).ok).toBe(true)
    expect(authorizeClientId(board, 'hall-1-w01-x', 'hall-1-w01', false).ok).toBe(false)
    expect(authorizeClientId(board, 'hall-1-w02', 'hall-1-w02', false).ok).toBe(false)
  })

  it("other roles use their username or username-suffix, never an id another account owns, never none they own", () => {
    for (const p of [bridge, dashboard, tech]) {
      expect(authorizeClientId(p, p.username, p.username, false).ok).toBe(true)
      expect(authorizeClientId(p, `${p.username}-status-42`, p.username, false).ok).toBe(true)
      expect(authorizeClientId(p, 'hall-1-w01', 'hall-1-w01', false).ok).toBe(false)
      expect(authorizeClientId(p, 'hall-1-w01-x', 'hall-1-w01', false).ok).toBe(false)
      expect(authorizeClientId(p, 'mqttjs_1234', null, false).ok).toBe(false)
      // The hub made this one up itself (the client sent none): random, no one's.
      expect(authorizeClientId(p, 'aedes_5f0c', null, true).ok).toBe(true)
    }
  })
})
