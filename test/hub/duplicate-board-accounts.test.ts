import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimWindow } from '../../sim/sim-window.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics } from '../../edge/protocol/index.ts'
import { makeEntry, readCredentialFile, writeCredentialFile, type CredentialEntry } from '../../hub/credentials.ts'
import { startTestHub, user, type TestHub, type TestUser } from './support/hub-fixture.ts'
import { Probe, command, eventually } from '../support/probe.ts'

/**
 * A technician puts a spare at window 5 and, instead of `provision --replace`, adds a second board
 * account for w05 to the credentials file by hand. Both boards powered, both could be online as w05,
 * each taking its commands and each able to rate its one service. Only the newest account may log in:
 * the old board is thrown off at the reload and refused at every login after, with a line saying why.
 */
const H = 'h1'
const old = user('board', H, 'w05', 'h1-w05')
const spare = user('board', H, 'w05', 'h1-w05-spare')
const central = user('bridge', H)

async function entry(u: TestUser, created: string): Promise<CredentialEntry> {
  return { ...(await makeEntry({ username: u.username, role: u.role, hall: u.hall, counter: u.counter, password: u.password })), created }
}

describe('two board accounts for one window', () => {
  let t: TestHub
  let probe: Probe
  const windows: SimWindow[] = []
  let kept: CredentialEntry[]

  beforeAll(async () => {
    t = await startTestHub([old, central], { hall: H })
    // The accounts as the hub holds them, so rewriting the file changes nothing but the added one.
    kept = await readCredentialFile(t.credentialsFile)
    probe = await Probe.connect(t.url, [`hall/${H}/counter/+/#`], { clientId: central.username, username: central.username, password: central.password })
  })
  afterAll(async () => {
    for (const w of windows) await w.shutdown()
    await probe?.close()
    await t?.stop()
  })

  async function board(u: TestUser): Promise<SimWindow> {
    const w = new SimWindow({
      hall: H,
      counter: u.counter!,
      profile: await loadBoardProfile('sim-window', BOARDS_DIR),
      hub: [{ host: '127.0.0.1', port: t.hub.port }],
      username: u.username,
      password: u.password,
      log: silentLogger(),
    })
    windows.push(w)
    await w.start()
    return w
  }

  it('lets only the newest account in, refuses the older one with the reason, and the window has one board', async () => {
    const first = await board(old)
    await eventually(() => first.running?.link.connected, 10_000, 'the old board online')

    // The second account, added by hand, newer than the first.
    await writeCredentialFile(t.credentialsFile, [...kept, await entry(spare, '2099-01-01T00:00:00.000Z')])
    // The old board is thrown off at the reload and, retrying, refused with a reason a technician can act on.
    await eventually(() => t.log.refusals('superseded-account').length > 0, 10_000, 'the old board refused at a login')
    const line = t.log.refusals('superseded-account')[0]!
    expect(line).toMatchObject({ username: 'h1-w05', counter: 'w05', inForce: 'h1-w05-spare' })
    expect(String(line.msg)).toContain('窗口 w05 另有较新的板卡账号 "h1-w05-spare"')
    expect(String(line.msg)).toContain('window w05 has a newer board account "h1-w05-spare" and one board per window may be online, so "h1-w05" is refused')

    const second = await board(spare)
    await eventually(() => second.running?.link.connected, 10_000, 'the spare online')
    // Barrier: a command to w05 and its reply, from the spare; the old board, retrying all along, is still out.
    const c = command({ action: 'sign-in', officer: 'P1001' })
    await probe.publish(topics.cmd(H, 'w05', 'officer'), c)
    await probe.waitFor((m) => m.topic === topics.reply(H, 'w05') && m.payload.cmd === c.id, 10_000, 'the reply to the sign-in')
    expect(second.describe()).toMatchObject({ officer: 'P1001' })
    expect(first.running!.link.connected).toBe(false)
    expect(first.describe()).toMatchObject({ officer: null })
  }, 60_000)
})
