import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hasApplicant, step } from '../../edge/counter/machine.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { SELF_TESTS, commandExamples, type EvaluationScore, type SelfTest } from '../../edge/protocol/index.ts'
import { cmd, T0 } from '../support/counter-steps.ts'
import { FUZZ_SEED, runs } from '../fuzz/arbitraries.ts'

/**
 * What never happens with an applicant at the window: an update (issue 24), which restarts the
 * board, and a self-test's trigger test, which fires the camera and the fingerprint scanner for
 * real. Random sequences of the commands central sends, key presses, capture outcomes, time,
 * updates and self-tests: every `update` effect and every self-test with triggers comes from a
 * step whose window was idle, paused or closed with no capture running, and each of them asked
 * otherwise was refused `busy`. A self-test of the display and keys alone runs in any mode.
 */
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }
const { id: _id, expires: _expires, ...UPDATE_ARGS } = commandExamples.update as Record<string, unknown>

const make = (...fs: Array<() => Input>) => fc.constantFrom(...fs)

// Weighted towards the way into a service (sign in, call, start, finish), so sequences reach every mode often.
const input: fc.Arbitrary<() => Input> = fc.oneof(
  { weight: 12, arbitrary: make(() => cmd('officer', { action: 'sign-in', officer: 'o1' }), () => cmd('call', { ticket: 'A1' }), () => cmd('start'), () => cmd('finish', { outcome: 'served' })) },
  { weight: 3, arbitrary: make(() => cmd('update', UPDATE_ARGS)) },
  { weight: 3, arbitrary: fc.subarray([...SELF_TESTS], { minLength: 1 }).map((tests) => () => cmd('self-test', { tests })) },
  { weight: 1, arbitrary: make(() => cmd('self-test')) },
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
  // A photo capture ends; the loop gives it the running capture's command id, as the runtime does.
  { weight: 2, arbitrary: fc.boolean().map((ok) => (): Input => ({ kind: 'capture-result', device: 'photo', cmd: '', outcome: ok ? { ok: true, latencyMs: 100 } : { ok: false, reason: 'timeout', message: 'no answer' } })) },
)

// Mostly seconds apart, sometimes long enough for a call or a rating to time out.
const gap = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }) })

/** Nobody at the window and no capture running: the only time the devices may be fired for a test. */
const free = (s: CounterState) => !hasApplicant(s) && Object.keys(s.captures).length === 0

describe('the applicant gate: no update and no trigger test with an applicant at the window', () => {
  it('over random command sequences, update and the trigger test start only with nobody at the window and no capture running, and are refused busy otherwise', () => {
    const seen = { started: 0, busy: 0, triggersRun: 0, triggersBusy: 0, displayKeysWithApplicant: 0 }
    fc.assert(
      fc.property(fc.array(fc.tuple(input, gap), { minLength: 1, maxLength: 60, size: 'max' }), (seq) => {
        let s: CounterState = initialState(T0, LIMITS, {}, ['photo'])
        let t = T0
        for (const [next, dt] of seq) {
          t += dt
          let i = next()
          if (i.kind === 'capture-result') i = { ...i, cmd: s.captures.photo?.cmd ?? 'no-capture-running' }
          const before = s
          const r = step(s, i, t, t)
          const updates = r.effects.filter((e): e is Extract<Effect, { kind: 'update' }> => e.kind === 'update')
          const selfTests = r.effects.filter((e): e is Extract<Effect, { kind: 'self-test' }> => e.kind === 'self-test')
          if (updates.length) {
            expect(hasApplicant(before), `update started in mode ${before.mode}`).toBe(false)
            expect(r.state).toBe(before)
            seen.started++
          }
          for (const e of selfTests) {
            if (e.tests.includes('triggers')) {
              expect(free(before), `trigger test in mode ${before.mode}, captures ${JSON.stringify(before.captures)}`).toBe(true)
              seen.triggersRun++
            } else if (hasApplicant(before)) seen.displayKeysWithApplicant++
            expect(r.state).toBe(before)
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
          if (i.kind === 'command' && i.command.name === 'self-test') {
            const asked: readonly SelfTest[] = i.command.tests ?? SELF_TESTS
            const reply = r.effects.find((e) => e.kind === 'reply')
            if (asked.includes('triggers') && !free(before)) {
              expect(selfTests).toEqual([])
              expect(reply).toMatchObject({ ok: false, code: 'busy', message: expect.stringMatching(/^tests: the trigger test/) })
              seen.triggersBusy++
            } else {
              // Handed to the runtime as asked; it replies once the tests have run.
              expect(selfTests).toEqual([expect.objectContaining({ tests: asked })])
              expect(reply).toBeUndefined()
            }
          }
          s = r.state
        }
      }),
      { seed: FUZZ_SEED, numRuns: runs(300) },
    )
    // Both sides of each gate were exercised, or the property said nothing.
    for (const [side, n] of Object.entries(seen)) expect(n, side).toBeGreaterThan(0)
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
