import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimWindow } from '../../sim/sim-window.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { startTestHub, user, type TestHub, type TestUser } from '../hub/support/hub-fixture.ts'
import { makeEntry, readCredentialFile, writeCredentialFile } from '../../hub/credentials.ts'
import { Probe, command, eventually } from '../support/probe.ts'

/**
 * A hall technician moves a board from window 3 to window 5: provisions it as w05 and
 * puts w05's config on it, its SD card (the data directory) unchanged. Window 5 must not
 * show window 3's ticket, and must not try to send window 3's journal as itself.
 */
const H = 'h1'
const w03 = user('board', H, 'w03')
const w05 = user('board', H, 'w05')
const central = user('bridge', H)

describe('a board moved to another window with its data directory', () => {
  let t: TestHub
  let probe: Probe
  let sd: string
  const windows: SimWindow[] = []

  beforeAll(async () => {
    t = await startTestHub([w03, w05, central], { hall: H })
    probe = await Probe.connect(t.url, [`hall/${H}/counter/+/#`], { clientId: central.username, username: central.username, password: central.password })
    sd = await mkdtemp(join(tmpdir(), 'moved-board-sd-'))
  })
  afterAll(async () => {
    for (const w of windows) await w.shutdown()
    await probe?.close()
    await t?.stop()
    await rm(sd, { recursive: true, force: true })
  })

  async function board(u: TestUser, port: number, dataDir = sd): Promise<SimWindow> {
    const w = new SimWindow({
      hall: H,
      counter: u.counter!,
      profile: await loadBoardProfile('sim-window', BOARDS_DIR),
      hub: [{ host: '127.0.0.1', port }],
      username: u.username,
      password: u.password,
      dataDir,
      log: silentLogger(),
    })
    windows.push(w)
    await w.start()
    return w
  }

  async function send(counter: string, name: CommandName, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const c = command(args)
    await probe.publish(topics.cmd(H, counter, name), c)
    const reply = await probe.waitFor((m) => m.topic === topics.reply(H, counter) && m.payload.cmd === c.id, 10_000, `the reply to ${name} at ${counter}`)
    return reply.payload
  }

  it('window 5 starts closed without window 3\'s ticket, comes online, and window 3\'s undelivered events are kept aside', async () => {
    // Window 3 serves A023.
    const three = await board(w03, t.hub.port)
    await eventually(() => three.running?.link.connected, 10_000, 'w03 online')
    expect(await send('w03', 'officer', { action: 'sign-in', officer: 'P1001' })).toMatchObject({ ok: true })
    expect(await send('w03', 'call', { ticket: 'A023' })).toMatchObject({ ok: true })
    expect(await send('w03', 'start')).toMatchObject({ ok: true })
    await three.stop()
    // The same board, cut off from the hub, takes a help press: an event of window 3 its journal holds, undelivered.
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const deadPort = (dead.address() as { port: number }).port
    await new Promise<void>((r) => dead.close(() => r()))
    const offline = await board(w03, deadPort)
    expect(offline.running!.window.current.ticket?.number).toBe('A023')
    await offline.hardware.press('help')
    await eventually(() => offline.running!.link.backlog > 0, 5_000, 'the help event in the journal')
    await offline.shutdown()

    // Provisioned as window 5, same card.
    const five = await board(w05, t.hub.port)
    expect(five.describe()).toMatchObject({ mode: 'closed', ticket: null, officer: null })
    expect(five.hardware.view()).not.toMatchObject({ text: 'A023' })
    // It gets online and answers as window 5 (a command and its reply), instead of being thrown off for publishing as window 3.
    await probe.waitFor((m) => m.topic === topics.status(H, 'w05') && m.payload.online === true, 10_000, 'w05\'s birth')
    expect(await send('w05', 'sync')).toMatchObject({ ok: true })
    expect(t.log.text()).not.toContain('may not publish as counter w03')

    // Window 3's state and journal are kept whole, aside: a board started once as w03 on them delivers the help press.
    const aside = (await readdir(sd)).filter((n) => n.startsWith('other-window-h1-w03-'))
    expect(aside).toHaveLength(1)
    const recovered = await board(w03, t.hub.port, join(sd, aside[0]!))
    await probe.waitFor((m) => m.topic === topics.event(H, 'w03', 'help-requested'), 10_000, 'w03\'s help press, delivered from the set-aside journal')
    expect(recovered.running!.window.current.ticket?.number).toBe('A023')
  }, 60_000)
})

/**
 * Window 5's board dies mid-service; the technician provisions w05 again (--replace: a new password) and a
 * spare with its own card serves the window. Later the repaired board comes back with window 5's own old
 * card and the window's current config. The card's state (A023 in service) is stale: the window must start
 * closed, never showing A023 nor sending it as its state; what the card had not delivered is still sent.
 */
describe('a window\'s own old card put back after a spare has served', () => {
  const oldW05 = user('board', H, 'w05')
  const newW05: TestUser = { ...oldW05, password: 'pw-after-replace' }
  let t: TestHub
  let probe: Probe
  let card: string
  let spareCard: string
  const windows: SimWindow[] = []

  beforeAll(async () => {
    t = await startTestHub([oldW05, central], { hall: H })
    probe = await Probe.connect(t.url, [`hall/${H}/counter/+/#`], { clientId: central.username, username: central.username, password: central.password })
    card = await mkdtemp(join(tmpdir(), 'w05-own-card-'))
    spareCard = await mkdtemp(join(tmpdir(), 'w05-spare-card-'))
  })
  afterAll(async () => {
    for (const w of windows) await w.shutdown()
    await probe?.close()
    await t?.stop()
    await rm(card, { recursive: true, force: true })
    await rm(spareCard, { recursive: true, force: true })
  })

  async function board(u: TestUser, port: number, dataDir: string): Promise<SimWindow> {
    const w = new SimWindow({ hall: H, counter: u.counter!, profile: await loadBoardProfile('sim-window', BOARDS_DIR), hub: [{ host: '127.0.0.1', port }], username: u.username, password: u.password, dataDir, log: silentLogger() })
    windows.push(w)
    await w.start()
    return w
  }

  async function send(name: CommandName, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const c = command(args)
    await probe.publish(topics.cmd(H, 'w05', name), c)
    const reply = await probe.waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === c.id, 10_000, `the reply to ${name}`)
    return reply.payload
  }

  it('starts closed without the old ticket, publishes no stale state, and still delivers the card\'s undelivered events', async () => {
    const own = await board(oldW05, t.hub.port, card)
    await eventually(() => own.running?.link.connected, 10_000, 'w05 online')
    expect(await send('officer', { action: 'sign-in', officer: 'P1001' })).toMatchObject({ ok: true })
    expect(await send('call', { ticket: 'A023' })).toMatchObject({ ok: true })
    expect(await send('start')).toMatchObject({ ok: true })
    await own.stop()
    // Cut off from the hub as it dies, the board takes a help press: undelivered, on its card only.
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const deadPort = (dead.address() as { port: number }).port
    await new Promise<void>((r) => dead.close(() => r()))
    const dying = await board(oldW05, deadPort, card)
    await dying.hardware.press('help')
    await eventually(() => dying.running!.link.backlog > 0, 5_000, 'the help event in the journal')
    await dying.shutdown()

    // provision --replace: the same account, a new password; the central account as the hub holds it.
    const kept = (await readCredentialFile(t.credentialsFile)).filter((e) => e.username !== oldW05.username)
    await writeCredentialFile(t.credentialsFile, [...kept, await makeEntry({ username: newW05.username, role: 'board', hall: H, counter: 'w05', password: newW05.password })])
    await eventually(() => t.log.lines.filter((l) => l.msg === 'credentials loaded').length >= 2, 10_000, 'the hub to reload')
    // The spare serves the window: B101, finished.
    const spare = await board(newW05, t.hub.port, spareCard)
    await eventually(() => spare.running?.link.connected, 10_000, 'the spare online')
    expect(await send('officer', { action: 'sign-in', officer: 'P1002' })).toMatchObject({ ok: true })
    expect(await send('call', { ticket: 'B101' })).toMatchObject({ ok: true })
    await spare.shutdown()

    // The repaired board, its own old card, the window's current config: first with the hub out of reach.
    // The stale state is gone from the card at once, so a power cut before the window's first save cannot bring A023 back.
    const offline = await board(newW05, deadPort, card)
    expect(offline.describe()).toMatchObject({ mode: 'closed', ticket: null, officer: null })
    expect(await readFile(join(card, 'window-state.json'), 'utf8')).not.toContain('A023')
    await offline.shutdown()
    const before = probe.messages.length
    const back = await board(newW05, t.hub.port, card)
    expect(back.describe()).toMatchObject({ mode: 'closed', ticket: null, officer: null })
    expect(JSON.stringify(back.hardware.view())).not.toContain('A023')
    await eventually(() => back.running?.link.connected, 10_000, 'w05 online again')
    // Barrier: a sync and its reply; every state w05 sent since it came back is closed, without A023.
    expect(await send('sync')).toMatchObject({ ok: true })
    const states = probe.messages.slice(before).filter((m) => m.topic === topics.state(H, 'w05'))
    expect(states.length).toBeGreaterThan(0)
    for (const m of states) expect(m.payload).toMatchObject({ mode: 'closed', ticket: null })
    // The card's undelivered help press is still this window's, and delivered.
    await probe.waitFor((m) => m.topic === topics.event(H, 'w05', 'help-requested'), 10_000, 'the old card\'s help press')
  }, 90_000)
})
