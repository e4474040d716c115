import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hasApplicant, step } from '../../edge/counter/machine.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { commandExamples, type EvaluationScore } from '../../edge/protocol/index.ts'
import { cmd, T0 } from '../support/counter-steps.ts'
import { FUZZ_SEED, runs } from '../fuzz/arbitraries.ts'

/**
 * The update gate (issue 24): an update is never started while an applicant
 * is at the window. Random sequences of the commands central sends, key
 * presses, time and update commands: every `update` effect the machine ever
 * emits comes from a step whose window was idle, paused or closed, and every
 * update refused `busy` from one that had someone at it.
 */
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }
const { id: _id, expires: _expires, ...UPDATE_ARGS } = commandExamples.update as Record<string, unknown>

const make = (...fs: Array<() => Input>) => fc.constantFrom(...fs)

// Weighted towards the way into a service (sign in, call, start, finish), so sequences reach every mode often.
const input: fc.Arbitrary<() => Input> = fc.oneof(
  { weight: 6, arbitrary: make(() => cmd('officer', { action: 'sign-in', officer: 'o1' }), () => cmd('call', { ticket: 'A1' }), () => cmd('start'), () => cmd('finish', { outcome: 'served' })) },
  { weight: 5, arbitrary: make(() => cmd('update', UPDATE_ARGS)) },
  {
    weight: 3,
    arbitrary: make(
      () => cmd('officer', { action: 'sign-out' }),
      () => cmd('recall'),
      () => cmd('no-show'),
      () => cmd('finish', { outcome: 'transferred' }),
      () => cmd('park', { reason: 'document' }),
      () => cmd('pause', { reason: 'break' }),
      () => cmd('resume'),
      () => cmd('capture', { kind: 'photo' }),
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom<EvaluationScore>('satisfied', 'dissatisfied', 'very-satisfied').map((score) => (): Input => ({ kind: 'key', score })) },
  { weight: 1, arbitrary: fc.constant((): Input => ({ kind: 'tick' })) },
)

describe('update gate: never while an applicant is at the window', () => {
  it('over random command sequences, update starts only with nobody at the window and is refused busy otherwise', () => {
    const seen = { started: 0, busy: 0 }
    fc.assert(
      fc.property(fc.array(fc.tuple(input, fc.integer({ min: 0, max: 40_000 })), { minLength: 1, maxLength: 60 }), (seq) => {
        let s: CounterState = initialState(T0, LIMITS, {}, ['photo'])
        let t = T0
        for (const [next, dt] of seq) {
          t += dt
          const i = next()
          const before = s
          const r = step(s, i, t, t)
          const updates = r.effects.filter((e): e is Extract<Effect, { kind: 'update' }> => e.kind === 'update')
          if (updates.length) {
            expect(hasApplicant(before), `update started in mode ${before.mode}`).toBe(false)
            expect(r.state).toBe(before)
            seen.started++
          }
          if (i.kind === 'command' && i.command.name === 'update') {
            const reply = r.effects.find((e) => e.kind === 'reply')
            if (hasApplicant(before)) {
              expect(updates).toEqual([])
              expect(reply).toMatchObject({ ok: false, code: 'busy' })
              seen.busy++
            } else {
              expect(updates).toHaveLength(1)
              // The runtime replies once it has checked the release: no reply from the machine itself.
              expect(reply).toBeUndefined()
            }
          }
          s = r.state
        }
      }),
      { seed: FUZZ_SEED, numRuns: runs(300) },
    )
    // Both sides of the gate were exercised, or the property said nothing.
    expect(seen.started).toBeGreaterThan(0)
    expect(seen.busy).toBeGreaterThan(0)
  })

  it('in each mode: calling, serving and evaluating refuse busy naming the applicant; idle, paused, closed start it', () => {
    const signIn = cmd('officer', { action: 'sign-in', officer: 'o1' })
    const paths: Record<string, Input[]> = {
      closed: [],
      idle: [signIn],
      paused: [signIn, cmd('pause', { reason: 'break' })],
      calling: [signIn, cmd('call', { ticket: 'A7' })],
      serving: [signIn, cmd('call', { ticket: 'A7' }), cmd('start')],
      evaluating: [signIn, cmd('call', { ticket: 'A7' }), cmd('start'), cmd('finish', { outcome: 'served' })],
    }
    for (const [mode, inputs] of Object.entries(paths)) {
      let s = initialState(T0, LIMITS)
      for (const i of inputs) s = step(s, i, T0, T0).state
      expect(s.mode).toBe(mode)
      const r = step(s, cmd('update', UPDATE_ARGS), T0, T0)
      if (['calling', 'serving', 'evaluating'].includes(mode)) {
        expect(r.effects).toEqual([expect.objectContaining({ kind: 'reply', ok: false, code: 'busy', message: expect.stringMatching(/applicant.*A7/) })])
      } else {
        expect(r.effects).toEqual([expect.objectContaining({ kind: 'update', cmd: expect.objectContaining({ name: 'update', url: UPDATE_ARGS.url }) })])
      }
    }
  })
})
