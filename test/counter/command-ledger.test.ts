import { describe, it, expect } from 'vitest'
import { CommandLedger } from '../../edge/counter/command-ledger.ts'

describe('CommandLedger', () => {
  it('answers a repeated id with the first reply and forgets the oldest past its capacity', () => {
    const l = new CommandLedger<string>(3)
    for (const id of ['a', 'b', 'c', 'd']) l.remember(id, `reply-${id}`)
    expect(l.get('a')).toBeUndefined()
    expect(l.get('d')).toBe('reply-d')
  })

  it('hands its newest entries to the state file, oldest first, and takes them back after a restart', () => {
    const l = new CommandLedger<string>()
    for (const id of ['a', 'b', 'c']) l.remember(id, `reply-${id}`)
    l.remember('a', 'reply-a2')
    expect(l.recent(2)).toEqual([
      ['c', 'reply-c'],
      ['a', 'reply-a2'],
    ])
    const restarted = new CommandLedger<string>()
    restarted.restore(l.recent(10))
    expect(restarted.get('b')).toBe('reply-b')
    expect(restarted.recent(1)).toEqual([['a', 'reply-a2']])
  })
})
