import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { WINDOW_MODES, type WindowMode } from '../../../edge/protocol/index.ts'
import { neighbours, planWave, publicNumber, type PlanWindow } from '../../../hub/fleet/rollout-plan.ts'

const APPLICANT: ReadonlySet<WindowMode> = new Set(['calling', 'serving', 'evaluating'])
const TARGET = '2.0.0'

/** A hall: windows numbered 1..n (some with a number in their state, some taken from the counter id), each with a mode and a link. */
const hall = fc.integer({ min: 1, max: 40 }).chain((n) =>
  fc.tuple(
    fc.array(fc.record({ mode: fc.constantFrom<WindowMode>(...WINDOW_MODES), online: fc.boolean(), stated: fc.boolean() }), { minLength: n, maxLength: n }),
    fc.shuffledSubarray(
      Array.from({ length: n }, (_, i) => `w${String(i + 1).padStart(2, '0')}`),
      { minLength: 1 },
    ),
    fc.integer({ min: 1, max: 8 }),
  ),
)

/** One moment of a hall's day: a window's mode changes, a board drops or comes back, or a board of the wave confirms. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('mode' as const), at: fc.nat(), mode: fc.constantFrom<WindowMode>(...WINDOW_MODES) }),
  fc.record({ kind: fc.constant('link' as const), at: fc.nat(), online: fc.boolean() }),
  fc.record({ kind: fc.constant('confirm' as const), at: fc.nat() }),
)

describe('rollout planning', () => {
  it('never puts neighbours or an applicant\'s window in one wave, never sends twice, and updates every chosen board once the hall is idle', () => {
    fc.assert(
      fc.property(hall, fc.array(step, { maxLength: 200 }), ([cells, chosen, atATime], steps) => {
        const windows: PlanWindow[] = cells.map((c, i) => ({ counter: `w${String(i + 1).padStart(2, '0')}`, number: c.stated ? String(i + 1) : null, mode: c.mode, online: c.online, running: '1.0.0' }))
        const sent = new Set<string>()
        let inFlight: string[] = []
        const sendCount = new Map<string, number>()
        const plan = () => {
          if (inFlight.length > 0) return
          const p = planWave({ windows, chosen, target: TARGET, atATime, sent })
          expect(p.wave.length).toBeLessThanOrEqual(atATime)
          for (const c of p.wave) {
            const w = windows.find((x) => x.counter === c)!
            expect(APPLICANT.has(w.mode!), `${c} has an applicant (${w.mode})`).toBe(false)
            expect(w.online, `${c} is offline`).toBe(true)
            expect(chosen).toContain(c)
            expect(sent.has(c), `${c} sent twice`).toBe(false)
            sendCount.set(c, (sendCount.get(c) ?? 0) + 1)
          }
          for (const a of p.wave) for (const b of p.wave) if (a !== b) expect(neighbours(publicNumber(windows.find((x) => x.counter === a)!), publicNumber(windows.find((x) => x.counter === b)!)), `${a} and ${b} neighbour`).toBe(false)
          for (const c of p.wave) sent.add(c)
          inFlight = p.wave
        }
        for (const s of steps) {
          plan()
          if (s.kind === 'confirm') {
            if (inFlight.length === 0) continue
            const c = inFlight[s.at % inFlight.length]!
            windows.find((w) => w.counter === c)!.running = TARGET
            inFlight = inFlight.filter((x) => x !== c)
            continue
          }
          // A board being updated is restarting: its window takes no applicant meanwhile.
          const idle = windows.filter((w) => !inFlight.includes(w.counter))
          if (idle.length === 0) continue
          const w = idle[s.at % idle.length]!
          if (s.kind === 'mode') w.mode = s.mode
          else w.online = s.online
        }
        // The hall goes idle: every window online without an applicant, every wave confirms.
        for (const w of windows) {
          w.online = true
          if (APPLICANT.has(w.mode!)) w.mode = 'idle'
        }
        for (let guard = 0; guard <= chosen.length + 1; guard++) {
          for (const c of inFlight) windows.find((w) => w.counter === c)!.running = TARGET
          inFlight = []
          plan()
          if (inFlight.length === 0) break
        }
        expect(inFlight).toEqual([])
        for (const c of chosen) expect(windows.find((w) => w.counter === c)!.running, `${c} updated`).toBe(TARGET)
        for (const [c, n] of sendCount) expect(n, `${c} sent ${n} times`).toBe(1)
        const notChosen = windows.filter((w) => !chosen.includes(w.counter))
        for (const w of notChosen) expect(w.running).toBe('1.0.0')
      }),
      { numRuns: 300 },
    )
  })

  it('tells why a board waits', () => {
    const windows: PlanWindow[] = [
      { counter: 'w01', number: '1', mode: 'idle', online: true, running: '1.0.0' },
      { counter: 'w02', number: '2', mode: 'idle', online: true, running: '1.0.0' },
      { counter: 'w03', number: '3', mode: 'serving', online: true, running: '1.0.0' },
      { counter: 'w04', number: '4', mode: 'idle', online: false, running: '1.0.0' },
      { counter: 'w05', number: '5', mode: 'closed', online: true, running: TARGET },
      { counter: 'w06', number: null, mode: 'paused', online: true, running: '1.0.0' },
    ]
    const p = planWave({ windows, chosen: windows.map((w) => w.counter), target: TARGET, atATime: 5, sent: new Set() })
    expect(p.wave).toEqual(['w01', 'w06'])
    expect(p.alreadyThere).toEqual(['w05'])
    expect(p.waiting).toEqual([
      { counter: 'w02', why: expect.stringContaining('neighbouring window') },
      { counter: 'w03', why: expect.stringContaining('applicant') },
      { counter: 'w04', why: expect.stringContaining('offline') },
    ])
  })
})
