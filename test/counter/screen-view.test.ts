import { describe, expect, it } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { screenViewFor } from '../../edge/counter/screen-view.ts'
import { initialState, type CounterState, type Input } from '../../edge/counter/state.ts'
import { parseCommand, type Command } from '../../edge/protocol/index.ts'

const T0 = Date.parse('2026-11-22T08:00:00Z')
const LIMITS = { digits: 6, charset: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-' }
let n = 0

function cmd(name: string, args: Record<string, unknown> = {}): Input {
  const parsed = parseCommand(name, JSON.stringify({ id: `sv${n++}`, expires: new Date(T0 + 3_600_000).toISOString(), ...args }))
  if (!parsed.ok) throw new Error(parsed.message)
  return { kind: 'command', command: parsed.command as Command }
}

function run(inputs: Input[], at = T0): CounterState {
  return inputs.reduce((s, i) => step(s, i, at, at).state, initialState(T0, LIMITS))
}

const signIn = cmd('officer', { action: 'sign-in', officer: '031245', officerName: '李娜' })

/** What a pixel screen is given follows from the counter's state alone, as the segment display's text does. */
describe('screenViewFor', () => {
  it('a call: the ticket, the officer, and attention while the call is fresh', () => {
    const s = run([signIn, cmd('call', { ticket: 'A012' })])
    expect(screenViewFor(s, T0)).toEqual({ mode: 'calling', ticket: 'A012', attention: true, officer: { id: '031245', name: '李娜' }, pauseReason: null, windowName: null, services: [] })
    expect(screenViewFor(s, T0 + s.settings.attentionS * 1000).attention).toBe(false)
  })

  it('paused: the reason, and no ticket (the segment display shows dashes, a screen says why)', () => {
    const s = run([signIn, cmd('pause', { reason: 'break' })])
    expect(screenViewFor(s, T0)).toMatchObject({ mode: 'paused', ticket: null, pauseReason: 'break' })
  })

  it('takes the window\'s name and services from outside the state, and is neutral without them', () => {
    const s = run([signIn])
    expect(screenViewFor(s, T0)).toMatchObject({ mode: 'idle', windowName: null, services: [] })
    expect(screenViewFor(s, T0, { windowName: '3号窗口', services: ['户籍'] })).toMatchObject({ windowName: '3号窗口', services: ['户籍'] })
    expect(screenViewFor(run([]), T0)).toMatchObject({ mode: 'closed', officer: null, ticket: null })
  })
})
