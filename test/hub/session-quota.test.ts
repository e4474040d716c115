import { describe, it, expect } from 'vitest'
import { SessionQuota } from '../../hub/session-quota.ts'

describe('persistent sessions per account', () => {
  it('admits up to the cap, then only the ids the account already holds', () => {
    const q = new SessionQuota(3)
    for (const id of ['dash-1', 'dash-2', 'dash-3']) expect(q.admit('dash', id)).toEqual({ ok: true })
    expect(q.admit('dash', 'dash-4')).toEqual({ ok: false, held: ['dash-1', 'dash-2', 'dash-3'] })
    expect(q.admit('dash', 'dash-2')).toEqual({ ok: true }) // a reconnect
    expect(q.admit('tech', 'tech-1')).toEqual({ ok: true }) // another account has its own cap
    expect(q.count('dash')).toBe(3)
  })

  it('a released session frees its slot; releasing an unknown id changes nothing', () => {
    const q = new SessionQuota(1)
    expect(q.admit('dash', 'dash-a').ok).toBe(true)
    expect(q.admit('dash', 'dash-b').ok).toBe(false)
    q.release('nobody')
    q.release('dash-a')
    expect(q.holds('dash-a')).toBe(false)
    expect(q.admit('dash', 'dash-b').ok).toBe(true)
  })

  it('sessions loaded from the store count; ids no account owns are not held', () => {
    const q = new SessionQuota(2)
    q.load([
      { clientId: 'dash-x', account: 'dash' },
      { clientId: 'dash-y', account: 'dash' },
      { clientId: 'ghost', account: null },
    ])
    expect(q.admit('dash', 'dash-z').ok).toBe(false)
    expect(q.holds('ghost')).toBe(false)
  })
})
