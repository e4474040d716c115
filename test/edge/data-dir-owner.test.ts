import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimWindow } from '../../sim/sim-window.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { startTestHub, user, type TestHub, type TestUser } from '../hub/support/hub-fixture.ts'
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
