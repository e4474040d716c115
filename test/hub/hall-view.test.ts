import { describe, it, expect, beforeEach } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Aedes } from 'aedes'
import { ALERTS_FLOOR, HallView, KEPT_DAYS } from '../../hub/hall-view.ts'
import { HubCounters } from '../../hub/hub-counters.ts'
import { LogLimiter } from '../../hub/log-limiter.ts'
import { RatingAlertsFile } from '../../hub/rating-alerts.ts'
import { createLogger, silentLogger } from '../../edge/shared/logger.ts'
import { messageExamples } from '../../edge/protocol/index.ts'
import { boardEvent, CapturedLog, credentialStoreOf, statusMessage, user, writeUsers } from './support/hub-fixture.ts'

const base = 'hall/h1/counter/w01'
const json = (v: unknown) => JSON.stringify(v)
/** A wall time in Beijing (UTC+8, no daylight saving), the hall's zone: month counted from 1. */
const beijing = (y: number, mo: number, d: number, h: number, mi: number) => Date.UTC(y, mo - 1, d, h - 8, mi)

function stateOf(boot: string, seq: number, ticket: string | null) {
  const s = messageExamples.state
  return { ...s, id: `${boot}-${seq}`, boot, seq, ticket: ticket ? { ...s.ticket!, number: ticket } : null, mode: ticket ? 'serving' : 'idle' }
}

describe('hall view', () => {
  let view: HallView
  let counters: HubCounters
  let credentials: Awaited<ReturnType<typeof credentialStoreOf>>
  const [w01, w02] = [user('board', 'h1', 'w01'), user('board', 'h1', 'w02')]

  beforeEach(async () => {
    counters = new HubCounters()
    credentials = await credentialStoreOf([w01, w02, user('board', 'h2', 'w03'), user('technician', 'h1')])
    view = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), provisioned: credentials.store.provisionedBoards('h1') })
    await view.start()
    return async () => {
      await view.stop()
      await credentials.stop()
    }
  })

  it('a window taken out of the credentials file is revoked when the file reloads, announced at once; provisioned again, it is not', async () => {
    const changed: Array<string | null> = []
    view.onChange((c) => changed.push(c))
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    expect(view.window('w01')).toMatchObject({ provisioned: true, revoked: false })
    expect(view.snapshot().windows.map((w) => w.counter)).toEqual(['w01', 'w02'])
    changed.length = 0
    await writeUsers(credentials.path, [w02])
    // Written but not yet reloaded: the hub still lets w01 in, and the view says what the hub enforces.
    expect(view.window('w01')).toMatchObject({ provisioned: true, revoked: false })
    await credentials.store.reload()
    // The tile changes with the reload, before the board's will arrives: no other message is needed.
    expect(changed).toEqual(['w01'])
    expect(view.window('w01')).toMatchObject({ provisioned: false, revoked: true })
    view.apply(`${base}/status`, json(statusMessage('boot-a', 1, false)))
    expect(view.window('w01')).toMatchObject({ provisioned: false, revoked: true, online: false, offlineReason: 'will' })
    expect(view.snapshot().windows.find((w) => w.counter === 'w01')).toMatchObject({ revoked: true })
    changed.length = 0
    // A reload that changes nothing for this hall announces nothing.
    await credentials.store.reload()
    expect(changed).toEqual([])
    await writeUsers(credentials.path, [w01, w02, user('board', 'h1', 'w05')])
    await credentials.store.reload()
    expect(changed.sort()).toEqual(['w01', 'w05'])
    expect(view.window('w01')).toMatchObject({ provisioned: true, revoked: false })
    // A window provisioned now has its tile before its board is ever seen.
    expect(view.window('w05')).toMatchObject({ provisioned: true, revoked: false, online: false, lastSeen: null })
  })

  it('once stopped, the view no longer follows the credentials', async () => {
    await view.stop()
    const changed: Array<string | null> = []
    view.onChange((c) => changed.push(c))
    await writeUsers(credentials.path, [w02])
    await credentials.store.reload()
    expect(changed).toEqual([])
    expect(view.window('w01')).toMatchObject({ provisioned: true, revoked: false })
  })

  it('a window seen but never provisioned is not called revoked', () => {
    view.apply('hall/h1/counter/w09/status', json(statusMessage('boot-z', 0, true)))
    expect(view.window('w09')).toMatchObject({ provisioned: false, revoked: false })
  })

  it("lists a window's events by when the board made them: a journal backlog arriving after live events goes under them", () => {
    // After a link outage the board sends live events while its journal drains: the officer's help call
    // from the outage came in last and stood first, as a call for the supervisor (page.ts helpAsked)
    // that the services since had overtaken.
    view.apply(`${base}/status`, json(statusMessage('boot-b', 0, true)))
    const at = (min: number) => new Date(Date.UTC(2026, 11, 6, 2, min)).toISOString()
    view.apply(`${base}/event/called`, json(boardEvent('called', 'boot-b', 20, { ticket: 'A030', ts: at(30) })))
    view.apply(`${base}/event/service-started`, json(boardEvent('service-started', 'boot-b', 21, { ticket: 'A030', ts: at(31) })))
    // The backlog: this boot's help call, then one of the boot before (the board restarted during the outage).
    view.apply(`${base}/event/help-requested`, json(boardEvent('help-requested', 'boot-b', 12, { ts: at(20) })))
    view.apply(`${base}/event/called`, json(boardEvent('called', 'boot-a', 40, { ticket: 'A020', ts: at(10) })))
    const w = view.window('w01')!
    expect(w.recentEvents.map((e) => `${e.type} ${e.id}`)).toEqual(['service-started boot-b-21', 'called boot-b-20', 'help-requested boot-b-12', 'called boot-a-40'])
    expect(w.lastEvent).toMatchObject({ type: 'service-started', ticket: 'A030' })
    // An event made after them all still comes first.
    view.apply(`${base}/event/help-requested`, json(boardEvent('help-requested', 'boot-b', 22, { ts: at(32) })))
    expect(view.window('w01')!.recentEvents[0]).toMatchObject({ type: 'help-requested', id: 'boot-b-22' })
  })

  it('follows a window from birth through state and events to its will', () => {
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    view.apply(`${base}/state`, json(stateOf('boot-a', 1, 'A023')))
    view.apply(`${base}/event/called`, json(boardEvent('called', 'boot-a', 2)))
    let w = view.window('w01')!
    expect(w).toMatchObject({ online: true, boot: 'boot-a', board: 'sim-window', offlineReason: null })
    expect(w.state?.ticket?.number).toBe('A023')
    expect(w.lastEvent).toMatchObject({ type: 'called', id: 'boot-a-2', ticket: 'A023' })
    view.apply(`${base}/status`, json(statusMessage('boot-a', 3, false)))
    w = view.window('w01')!
    expect(w).toMatchObject({ online: false, offlineReason: 'will', boot: 'boot-a' })
  })

  it("an unsynced board's status and help call are dated by the hub, and a will by when the hub had it, so the tile's \"… ago\" is right", async () => {
    // Before, the tile counted from the board's ts: a board before NTP (1970) showed "offline since 56 years ago",
    // and a will, stamped when the board connected, showed the connect time as when it went offline.
    let clock = beijing(2026, 12, 6, 10, 0)
    const hubTime = () => new Date(clock).toISOString()
    const board1970 = new Date(60_000).toISOString()
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock })
    const status = (boot: string, seq: number, online: boolean, extra: Record<string, unknown>) => json({ ...statusMessage(boot, seq, online), ...extra })

    v.apply(`${base}/status`, status('boot-a', 0, true, { ts: board1970, synced: false }))
    expect(v.window('w01')!.since).toBe(hubTime())
    clock += 60_000
    v.apply(`${base}/event/help-requested`, json(boardEvent('help-requested', 'boot-a', 1, { ts: board1970, synced: false })))
    expect(v.window('w01')!.recentEvents[0]).toMatchObject({ type: 'help-requested', ts: board1970, at: hubTime() })
    // A synced board's own times stand.
    const nine = new Date(beijing(2026, 12, 6, 9, 0)).toISOString()
    v.apply(`${base}/event/help-requested`, json(boardEvent('help-requested', 'boot-a', 2, { ts: nine, synced: true })))
    expect(v.window('w01')!.recentEvents[0]).toMatchObject({ id: 'boot-a-2', at: nine })
    v.apply(`${base}/status`, status('boot-b', 0, true, { ts: nine, synced: true }))
    expect(v.window('w01')!.since).toBe(nine)
    // Its will, stamped at that connect, comes when the session drops at 10:05: offline since 10:05.
    clock = beijing(2026, 12, 6, 10, 5)
    v.apply(`${base}/status`, status('boot-b', 1, false, { ts: nine, synced: true }))
    expect(v.window('w01')).toMatchObject({ online: false, since: hubTime() })

    // Taken from the broker's retained copy at the hub's start, when an unsynced status or a will came is unknown: no age, not a wrong one.
    const retained = new HallView({
      hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock,
      retained: async function* () {
        yield { topic: `${base}/status`, payload: Buffer.from(status('boot-b', 1, false, { ts: nine, synced: true })) }
        yield { topic: 'hall/h1/counter/w02/status', payload: Buffer.from(status('boot-c', 0, true, { ts: board1970, synced: false })) }
      },
    })
    await retained.start()
    try {
      expect(retained.window('w01')).toMatchObject({ online: false, since: null })
      expect(retained.window('w02')).toMatchObject({ online: true, since: null })
    } finally {
      await retained.stop()
    }
  })

  it('a late will from an earlier boot never marks a board that came back as offline', () => {
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    view.apply(`${base}/status`, json(statusMessage('boot-b', 0, true)))
    view.apply(`${base}/status`, json(statusMessage('boot-a', 9, false)))
    expect(view.window('w01')).toMatchObject({ online: true, boot: 'boot-b' })
    expect(counters.staleWills).toBe(1)
  })

  it('keeps only the current boot\'s state: a stale one is ignored, an early one waits for its birth', () => {
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    view.apply(`${base}/state`, json(stateOf('boot-a', 5, 'A001')))
    view.apply(`${base}/state`, json(stateOf('boot-a', 4, 'A000'))) // replayed out of order
    expect(view.window('w01')!.state?.ticket?.number).toBe('A001')
    view.apply(`${base}/state`, json(stateOf('boot-b', 1, 'B777'))) // the new boot's state before its birth
    expect(view.window('w01')!.state?.ticket?.number).toBe('A001')
    view.apply(`${base}/status`, json(statusMessage('boot-b', 0, true)))
    expect(view.window('w01')!.state?.ticket?.number).toBe('B777')
    view.apply(`${base}/state`, json(stateOf('boot-a', 6, 'A002'))) // an old boot's state arriving late
    expect(view.window('w01')!.state?.ticket?.number).toBe('B777')
  })

  it('after a restart (state seeded before status, as retained topics sort) the state of the birth\'s boot is kept', () => {
    view.apply(`${base}/state`, json(stateOf('boot-a', 2, 'C100')))
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    expect(view.window('w01')!.state?.ticket?.number).toBe('C100')
  })

  it('drops duplicate events, ignores what breaks the contract, and lists provisioned windows never seen', () => {
    const e = json(boardEvent('evaluated', 'boot-a', 7))
    view.apply(`${base}/event/evaluated`, e)
    view.apply(`${base}/event/evaluated`, e)
    view.apply(`${base}/event/evaluated`, '{"not":"an event"}')
    view.apply('hall/h1/counter/w01/event/evaluated', 'not json')
    view.apply('hall/h2/counter/w01/status', json(statusMessage('x', 0, true))) // another hall
    const snap = view.snapshot()
    expect(snap.windows.map((w) => w.counter)).toEqual(['w01', 'w02'])
    expect(snap.windows[0]!.recentEvents).toHaveLength(1)
    expect(snap.windows[1]).toMatchObject({ counter: 'w02', provisioned: true, online: false, boot: null, lastSeen: null })
  })

  it('a window handed out stays as it was: later messages do not change it, and changing it does not change the view', () => {
    view.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    view.apply(`${base}/event/called`, json(boardEvent('called', 'boot-a', 1)))
    const copy = view.window('w01')!
    const snap = view.snapshot().windows.find((w) => w.counter === 'w01')!
    expect(copy.recentEvents.map((e) => e.id)).toEqual(['boot-a-1'])
    // The list grows in place inside the view: a copy must hold its own.
    for (let seq = 2; seq <= 25; seq++) view.apply(`${base}/event/called`, json(boardEvent('called', 'boot-a', seq)))
    expect(copy.recentEvents.map((e) => e.id)).toEqual(['boot-a-1'])
    expect(snap.recentEvents.map((e) => e.id)).toEqual(['boot-a-1'])
    const now = view.window('w01')!
    expect(now.recentEvents).toHaveLength(20)
    expect(now.recentEvents[0]!.id).toBe('boot-a-25')
    now.recentEvents.length = 0
    now.capabilities.push('tampered')
    now.online = false
    expect(view.window('w01')).toMatchObject({ online: true, capabilities: ['display'] })
    expect(view.window('w01')!.recentEvents).toHaveLength(20)
  })

  it('counts a service\'s time on the hub\'s clock, whatever the board\'s wall clock says', () => {
    let clock = beijing(2026, 12, 6, 10, 0)
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock })
    /** A state stamped by a board whose wall clock is `offsetMs` off, `ranMs` into its service. */
    const serving = (boot: string, seq: number, offsetMs: number, ranMs: number) => {
      const s = stateOf(boot, seq, 'A023')
      const boardNow = clock + offsetMs
      return json({ ...s, ts: new Date(boardNow).toISOString(), ticket: { ...s.ticket!, startedAt: new Date(boardNow - ranMs).toISOString() } })
    }
    v.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    // Booted an hour behind (no real-time clock, NTP not yet run), 30 s into a service.
    v.apply(`${base}/state`, serving('boot-a', 1, -3_600_000, 30_000))
    expect(v.window('w01')!.serviceStartedAt).toBe(new Date(clock - 30_000).toISOString())
    // NTP sets it two hours ahead by mistake; the next state, 10 s later, is 40 s into the service.
    clock += 10_000
    v.apply(`${base}/state`, serving('boot-a', 2, 7_200_000, 40_000))
    expect(v.window('w01')!.serviceStartedAt).toBe(new Date(clock - 40_000).toISOString())
    // The service ends: no time is counted.
    v.apply(`${base}/state`, json(stateOf('boot-a', 3, null)))
    expect(v.window('w01')!.serviceStartedAt).toBeNull()
    // A state that comes before its boot's birth counts from when the hub had it, not from the birth.
    v.apply(`${base}/state`, serving('boot-b', 1, -3_600_000, 5_000))
    clock += 2_000
    v.apply(`${base}/status`, json(statusMessage('boot-b', 0, true)))
    expect(v.window('w01')!.serviceStartedAt).toBe(new Date(clock - 2_000 - 5_000).toISOString())
  })

  it('a board clock that steps during a service does not move that service\'s time: the hub keeps the start it first worked out', () => {
    let clock = beijing(2026, 12, 7, 9, 0)
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock })
    const s = stateOf('boot-a', 1, 'A023')
    const startedAt = new Date(clock - 20_000).toISOString()
    const at = (seq: number, boardNow: number) => json({ ...s, id: `boot-a-${seq}`, seq, ts: new Date(boardNow).toISOString(), ticket: { ...s.ticket!, startedAt } })
    v.apply(`${base}/status`, json(statusMessage('boot-a', 0, true)))
    v.apply(`${base}/state`, at(1, clock))
    const start = new Date(clock - 20_000).toISOString()
    expect(v.window('w01')!.serviceStartedAt).toBe(start)
    // 30 s on, NTP steps the board's clock two hours ahead; a pause asked for after the service sends a new state.
    clock += 30_000
    v.apply(`${base}/state`, at(2, clock + 7_200_000))
    expect(v.window('w01')!.serviceStartedAt).toBe(start)
    // And back by a day: still the same start.
    clock += 5_000
    v.apply(`${base}/state`, at(3, clock - 86_400_000))
    expect(v.window('w01')!.serviceStartedAt).toBe(start)
  })

  it('after a restart of the hub, the first live state of a service puts right the start guessed from the retained one', async () => {
    const clock = beijing(2026, 12, 7, 9, 0)
    const s = stateOf('boot-a', 1, 'A023')
    // The board's clock is three hours behind and not set; its service began 20 s before its retained state.
    const boardNow = clock - 3 * 3_600_000
    const startedAt = new Date(boardNow - 20_000).toISOString()
    const retained = [
      { topic: `${base}/status`, payload: Buffer.from(json({ ...statusMessage('boot-a', 0, true), synced: false })) },
      { topic: `${base}/state`, payload: Buffer.from(json({ ...s, synced: false, ts: new Date(boardNow).toISOString(), ticket: { ...s.ticket!, startedAt } })) },
    ]
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, retained: async function* () { yield* retained } })
    await v.start()
    try {
      // The board reconnects and sends its state again, 25 s into its service by its own clock.
      v.apply(`${base}/state`, json({ ...s, id: 'boot-a-2', seq: 2, synced: false, ts: new Date(boardNow + 5_000).toISOString(), ticket: { ...s.ticket!, startedAt } }))
      expect(v.window('w01')!.serviceStartedAt).toBe(new Date(clock - 25_000).toISOString())
    } finally {
      await v.stop()
    }
  })

  it('shows the bridge and central status of the hall', () => {
    view.apply('hall/h1/hub/bridge', json(messageExamples['hub-bridge']))
    view.apply('hall/h1/central/status', json({ online: false, ts: new Date().toISOString() }))
    expect(view.snapshot()).toMatchObject({ bridge: { state: 'connected' }, central: { online: false } })
  })

  it('a bad rating is listed at its window at once, once per service record, and stays for the hall\'s day', () => {
    let clock = beijing(2026, 11, 22, 9, 30)
    const alerts = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock })
    const changed: Array<string | null> = []
    alerts.onChange((c) => changed.push(c))
    const first = json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A012', record: 'w01-boot-a-3' }))
    alerts.apply(`${base}/event/rating-alert`, first)
    expect(changed).toEqual(['w01'])
    expect(alerts.window('w01')!.alerts).toEqual([
      expect.objectContaining({ id: 'boot-a-8', counter: 'w01', ticket: 'A012', record: 'w01-boot-a-3', score: 'dissatisfied', level: '不满意', levelEn: 'dissatisfied', officer: 'P10482' }),
    ])
    // A copy from the at-least-once chain, then (impossible from a board) a second id for the same record: still one alert.
    alerts.apply(`${base}/event/rating-alert`, first)
    alerts.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 9, { ticket: 'A012', record: 'w01-boot-a-3' })))
    alerts.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 12, { ticket: 'A015', record: 'w01-boot-a-6', scale: 5, score: 'very-dissatisfied', level: '非常不满意' })))
    expect(alerts.window('w01')!.alerts.map((a) => [a.ticket, a.level])).toEqual([['A015', '非常不满意'], ['A012', '不满意']])
    // A good rating is no alert; one that breaks the contract is ignored.
    alerts.apply(`${base}/event/evaluated`, json(boardEvent('evaluated', 'boot-a', 13)))
    alerts.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 14, { score: 'satisfied', level: '满意' })))
    expect(alerts.snapshot().windows[0]!.alerts).toHaveLength(2)
    clock = beijing(2026, 11, 22, 23, 59)
    expect(alerts.window('w01')!.alerts).toHaveLength(2)
    clock = beijing(2026, 11, 23, 0, 0)
    expect(alerts.window('w01')!.alerts).toEqual([])
    expect(alerts.snapshot().windows[0]!.alerts).toEqual([])
  })

  it('the alerts\' day is the hall\'s, in its time zone, when the hub host runs on UTC', () => {
    // A hub host left on UTC (a fresh install, a container): its midnight is 08:00 in Beijing.
    const hostZone = process.env.TZ
    process.env.TZ = 'UTC'
    try {
      let clock = beijing(2026, 11, 22, 17, 30)
      const alerts = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, timeZone: 'Asia/Shanghai' })
      alerts.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A012', record: 'w01-boot-a-3' })))
      // After Beijing's midnight (16:10 UTC, the same UTC day) yesterday's alert is gone.
      clock = beijing(2026, 11, 23, 0, 10)
      expect(alerts.window('w01')!.alerts).toEqual([])
      // An early service's bad rating at 07:50 is still on the list at 08:10 (00:10 UTC, the next UTC day).
      clock = beijing(2026, 11, 23, 7, 50)
      alerts.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 9, { ticket: 'A001', record: 'w01-boot-a-4' })))
      clock = beijing(2026, 11, 23, 8, 10)
      expect(alerts.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A001'])
      clock = beijing(2026, 11, 23, 23, 59)
      expect(alerts.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A001'])
    } finally {
      if (hostZone === undefined) delete process.env.TZ
      else process.env.TZ = hostZone
    }
  })

  it('at the hall\'s midnight a window that sent nothing since is announced without yesterday\'s alerts, so an open dashboard redraws it', async () => {
    // The dashboard redraws a window only when the hall view announces it: a window switched off for the
    // night kept 今日差评 1 and yesterday's line in the list all the next day on a page left open.
    let clock = beijing(2026, 11, 22, 23, 50)
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, timeZone: 'Asia/Shanghai', dayCheckMs: 20 })
    await v.start()
    try {
      v.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A012', record: 'w01-boot-a-3' })))
      v.apply('hall/h1/counter/w02/event/called', json(boardEvent('called', 'boot-b', 1)))
      const seen: Array<{ counter: string | null; alerts: number }> = []
      const announced = new Promise<void>((resolve) =>
        v.onChange((counter) => {
          seen.push({ counter, alerts: counter ? v.window(counter)!.alerts.length : -1 })
          if (counter === 'w01') resolve()
        }),
      )
      clock = beijing(2026, 11, 23, 0, 1)
      let timer: NodeJS.Timeout | undefined
      const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), 3000)))
      expect(await Promise.race([announced.then(() => 'announced' as const), gaveUp])).toBe('announced')
      clearTimeout(timer)
      expect(seen).toEqual([{ counter: 'w01', alerts: 0 }])
    } finally {
      await v.stop()
    }
  })

  it('a hub that boots in 1970 (no real-time clock, NTP not yet run) keeps the morning\'s bad ratings on the day\'s list when NTP sets its clock, and saves them so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hall-alerts-1970-'))
    try {
      const path = join(dir, 'rating-alerts.json')
      // Power-on: the hub's clock starts at 0 and runs from there until NTP steps it.
      let clock = 9 * 60_000
      const file = new RatingAlertsFile(path, silentLogger())
      const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, alertsFile: file, dayCheckMs: 20 })
      await v.start()
      try {
        // w01's board has NTP already: its time stands in. w02's has not either: the alert is held.
        const boardTime = new Date(beijing(2026, 12, 7, 8, 40)).toISOString()
        v.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A003', record: 'w01-boot-a-3', ts: boardTime, synced: true })))
        v.apply('hall/h1/counter/w02/event/rating-alert', json(boardEvent('rating-alert', 'boot-b', 4, { ticket: 'B002', record: 'w02-boot-b-2', ts: new Date(60_000).toISOString(), synced: false })))
        expect(v.window('w01')!.alerts).toEqual([expect.objectContaining({ ticket: 'A003', receivedAt: boardTime, receivedClock: 'board', synced: true })])
        expect(v.window('w02')!.alerts).toEqual([expect.objectContaining({ ticket: 'B002', receivedClock: 'held', synced: false })])
        // The hub runs on in 1970 past what would be its midnight: nothing held leaves the list.
        clock = beijing(1970, 1, 2, 0, 30)
        expect(v.window('w02')!.alerts.map((a) => a.ticket)).toEqual(['B002'])

        // NTP steps the hub's clock to the real morning; the day-check turns over and announces w02.
        const announced = new Promise<void>((resolve) => v.onChange((c) => c === 'w02' && resolve()))
        clock = beijing(2026, 12, 7, 8, 45)
        await announced
        expect(v.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A003'])
        expect(v.window('w02')!.alerts).toEqual([expect.objectContaining({ ticket: 'B002', receivedAt: new Date(clock).toISOString(), receivedClock: 'restamped', synced: false })])
        expect(v.snapshot().windows.flatMap((w) => w.alerts)).toHaveLength(2)
        await file.drain()
        const saved = JSON.parse(await readFile(path, 'utf8')) as { alerts: Array<{ ticket: string; receivedClock: string }> }
        expect(saved.alerts.map((a) => [a.ticket, a.receivedClock]).sort()).toEqual([['A003', 'board'], ['B002', 'restamped']])
      } finally {
        await v.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the day\'s bad ratings survive a restart of the hub; the day before\'s, a damaged file and a replayed copy do not add any', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hall-alerts-'))
    try {
      const path = join(dir, 'rating-alerts.json')
      let clock = beijing(2026, 11, 22, 9, 30)
      const start = async () => {
        const file = new RatingAlertsFile(path, silentLogger())
        const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, alertsFile: file })
        await v.start()
        return { v, file }
      }
      const alert = (counter: string, seq: number, ticket: string) =>
        json(boardEvent('rating-alert', 'boot-a', seq, { ticket, record: `${counter}-boot-a-${seq}` }))
      const first = await start()
      first.v.apply(`${base}/event/rating-alert`, alert('w01', 8, 'A012'))
      clock += 60_000
      first.v.apply(`${base}/event/rating-alert`, alert('w01', 9, 'A013'))
      first.v.apply('hall/h1/counter/w02/event/rating-alert', alert('w02', 3, 'B001'))
      await first.v.stop()

      const second = await start()
      expect(second.v.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A013', 'A012'])
      expect(second.v.window('w02')!.alerts.map((a) => a.ticket)).toEqual(['B001'])
      // The board's journal sends the same alert again after the restart: still one.
      second.v.apply(`${base}/event/rating-alert`, alert('w01', 8, 'A012'))
      expect(second.v.window('w01')!.alerts).toHaveLength(2)
      await second.v.stop()

      // The next day starts with none listed; the day before's stay in the file, hidden, in case the clock was stepped.
      clock = beijing(2026, 11, 23, 8, 0)
      const third = await start()
      expect(third.v.snapshot().windows.flatMap((w) => w.alerts)).toEqual([])
      third.v.apply(`${base}/event/rating-alert`, alert('w01', 20, 'C001'))
      expect(third.v.snapshot().windows.flatMap((w) => w.alerts).map((a) => a.ticket)).toEqual(['C001'])
      await third.file.drain()
      const saved = JSON.parse(await readFile(path, 'utf8')) as { alerts: Array<{ ticket: string }> }
      expect(saved.alerts.map((a) => a.ticket).sort()).toEqual(['A012', 'A013', 'B001', 'C001'])
      await third.v.stop()

      // A damaged file: the hub starts (without the saved alerts) and says so in its log.
      await writeFile(path, '{"v":1,"alerts":[{"id":')
      const lines: string[] = []
      const destination = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString())
          cb()
        },
      })
      const log = createLogger({ name: 'test', level: 'info', pretty: false, destination })
      const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log, now: () => clock, alertsFile: new RatingAlertsFile(path, log) })
      await v.start()
      expect(v.snapshot().windows.flatMap((w) => w.alerts)).toEqual([])
      expect(lines.join('')).toContain('the saved bad-rating alerts are damaged')
      await v.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a hub clock stepped forward a day and back lists the day\'s bad ratings again, and they stay in the file all along', async () => {
    // Before, the day-check after the step deleted the day's alerts from memory, and the next save from the file.
    const dir = await mkdtemp(join(tmpdir(), 'hall-alerts-step-'))
    try {
      const path = join(dir, 'rating-alerts.json')
      let clock = beijing(2026, 11, 22, 9, 30)
      const file = new RatingAlertsFile(path, silentLogger())
      const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, alertsFile: file, dayCheckMs: 20 })
      await v.start()
      const announced = (counter: string) => {
        let timer: NodeJS.Timeout | undefined
        let unlisten: () => void = () => {}
        const seen = new Promise<'announced'>((resolve) => (unlisten = v.onChange((c) => c === counter && resolve('announced'))))
        const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), 3000)))
        return Promise.race([seen, gaveUp]).finally(() => (clearTimeout(timer), unlisten()))
      }
      const saved = async () => {
        await file.drain()
        return (JSON.parse(await readFile(path, 'utf8')) as { alerts: Array<{ ticket: string }> }).alerts.map((a) => a.ticket).sort()
      }
      try {
        v.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A012', record: 'w01-boot-a-3' })))
        expect(await saved()).toEqual(['A012'])

        // The clock steps to the next day: the day-check takes A012 off the day's list, and a save meanwhile keeps it in the file.
        let step = announced('w01')
        clock = beijing(2026, 11, 23, 9, 31)
        expect(await step).toBe('announced')
        expect(v.window('w01')!.alerts).toEqual([])
        v.apply('hall/h1/counter/w02/event/rating-alert', json(boardEvent('rating-alert', 'boot-b', 4, { ticket: 'B002', record: 'w02-boot-b-2' })))
        expect(await saved()).toEqual(['A012', 'B002'])

        // Stepped back: A012 is listed again and w01 announced, so an open dashboard redraws it.
        step = announced('w01')
        clock = beijing(2026, 11, 22, 9, 33)
        expect(await step).toBe('announced')
        expect(v.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A012'])
        expect(v.window('w02')!.alerts.map((a) => a.ticket)).toEqual(['B002'])
        v.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 9, { ticket: 'A013', record: 'w01-boot-a-4' })))
        expect(v.window('w01')!.alerts.map((a) => a.ticket)).toEqual(['A013', 'A012'])
        expect(await saved()).toEqual(['A012', 'A013', 'B002'])
      } finally {
        await v.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the kept alerts stay bounded: past the hall\'s newest ALERTS_FLOOR, those older than KEPT_DAYS are let go at the next save', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hall-alerts-bound-'))
    try {
      const path = join(dir, 'rating-alerts.json')
      const clock = beijing(2026, 11, 22, 9, 30)
      // Old alerts, ALERTS_FLOOR + 100 of them over five windows, each a minute apart, from KEPT_DAYS + 3 days back.
      const from = clock - (KEPT_DAYS + 3) * 86_400_000
      const old = Array.from({ length: ALERTS_FLOOR + 100 }, (_, i) => {
        const at = new Date(from + i * 60_000).toISOString()
        const counter = `w0${(i % 5) + 1}`
        return { id: `old-${i}`, counter, record: `${counter}-old-${i}`, ticket: `T${i}`, officer: null, score: 'dissatisfied', level: '不满意', levelEn: 'dissatisfied', caseNo: null, item: null, early: false, ts: at, receivedAt: at }
      })
      await writeFile(path, json({ v: 1, alerts: old }))
      const file = new RatingAlertsFile(path, silentLogger())
      const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), now: () => clock, alertsFile: file })
      await v.start()
      try {
        expect(v.snapshot().windows.flatMap((w) => w.alerts)).toEqual([])
        v.apply(`${base}/event/rating-alert`, json(boardEvent('rating-alert', 'boot-a', 8, { ticket: 'A012', record: 'w01-boot-a-3' })))
        await file.drain()
        const kept = (JSON.parse(await readFile(path, 'utf8')) as { alerts: Array<{ ticket: string }> }).alerts.map((a) => a.ticket)
        // The newest ALERTS_FLOOR stay (the new one and the newest old ones); the oldest 101 go.
        expect(kept).toHaveLength(ALERTS_FLOOR)
        expect(kept).toContain('A012')
        expect(kept).toContain(`T${ALERTS_FLOOR + 99}`)
        expect(kept).not.toContain('T100')
        expect(kept).toContain('T101')
      } finally {
        await v.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("central deleting its retained status (an empty payload) leaves the view with no central status, not the last one", () => {
    const changed: Array<string | null> = []
    view.onChange((c) => changed.push(c))
    view.apply('hall/h1/central/status', json({ online: true, ts: new Date().toISOString() }))
    expect(view.snapshot().central).toMatchObject({ online: true })
    view.apply('hall/h1/central/status', '')
    // Before, the dashboard said central was online for good after central had withdrawn its status.
    expect(view.snapshot().central).toBeNull()
    expect(changed).toEqual([null, null])
    // Another hall's deletion is not this hall's.
    view.apply('hall/h1/central/status', json({ online: true, ts: new Date().toISOString() }))
    view.apply('hall/h2/central/status', '')
    expect(view.snapshot().central).toMatchObject({ online: true })
  })

  it('a central status that breaks the contract is logged (rate-limited, as bad waiting counts are) and leaves the last good one', async () => {
    const log = new CapturedLog()
    const lines = new LogLimiter({ log: log.logger, linesPerKind: 10, linesPerKey: 2, windowMs: 60_000 })
    const v = new HallView({ hall: 'h1', aedes: new Aedes(), counters, log: silentLogger(), lines })
    try {
      v.apply('hall/h1/central/status', json({ online: true, ts: new Date().toISOString() }))
      for (let i = 0; i < 5; i++) v.apply('hall/h1/central/status', json({ online: 'yes', ts: new Date().toISOString() }))
      expect(v.snapshot().central).toMatchObject({ online: true })
      const said = log.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('ignored a central status that breaks the contract'))
      // Five bad ones, two lines: the rest are counted for the limiter's summary, not written.
      expect(said).toHaveLength(2)
      expect(said[0]).toMatchObject({ level: 40, refusal: expect.any(String), why: expect.any(String) })
      expect(String(said[0]!.msg)).toMatch(/中央状态/)
      // A board's bad message is not central's: no line here for it.
      v.apply(`${base}/status`, json({ online: 'yes' }))
      expect(log.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('central status'))).toHaveLength(2)
    } finally {
      lines.stop()
    }
  })
})
