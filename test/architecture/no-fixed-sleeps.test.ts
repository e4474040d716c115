import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const TEST = join(ROOT, 'test')

/**
 * Where a raw sleep may stay: the benchmarks and the soak measure real time,
 * the pace helper is the one named sleep the others go through, and this file
 * quotes the patterns it looks for.
 */
const EXEMPT = ['test/bench/', 'test/soak/', 'test/support/pace.ts', 'test/architecture/no-fixed-sleeps.test.ts']

/** The shapes a fixed sleep takes; each with what to use instead. */
const SLEEPS: ReadonlyArray<[RegExp, string]> = [
  [/setTimeout\(\s*(r|res|resolve|ok|done|wake)\s*[,)]/, 'a promise resolved by a timer'],
  [/new Promise\b[^\n]*=>\s*\{?\s*setTimeout\(/, 'a promise resolved by a timer'],
  [/\b(const|let|var)\s+(sleep|delay|pause|wait)\s*=\s*(async\b|function\b|\()/, 'a local sleep helper'],
  [/\bfunction\s+(sleep|delay|pause|wait)\s*[(<]/, 'a local sleep helper'],
  [/\bsleep\(/, 'a sleep call'],
  [/['"](node:)?timers\/promises['"]/, "timers/promises' sleep"],
]

const ADVICE = 'wait for the thing (a message, `eventually`, an exit), a barrier before a negative check (test/support/barrier.ts), or letTimePass(ms, why) from test/support/pace.ts where time passing is the scenario'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [p] : []
  })
}

/** `file:line: what` for each raw sleep in the text. */
function rawSleeps(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const hit = SLEEPS.find(([re]) => re.test(line))
    return hit ? [`${file}:${i + 1}: ${hit[1]}: ${line.trim()}`] : []
  })
}

describe('no fixed sleeps in the tests', () => {
  const files = sourceFiles(TEST)
    .map((p) => relative(ROOT, p))
    .filter((f) => !EXEMPT.some((e) => f.startsWith(e)))

  it('reads the test tree', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(files).toContain('test/support/fault-rig.ts')
  })

  it(`has none outside ${EXEMPT.join(', ')}: ${ADVICE}`, () => {
    expect(files.flatMap((f) => rawSleeps(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([])
  })

  it('finds one when there is one', () => {
    // The check itself: made-up snippets of each shape it exists to stop, and ones it must let through.
    const offending = [
      'await new Promise((r) => setTimeout(r, 300))',
      'await new Promise((resolve) => setTimeout(resolve, 50))',
      'await new Promise<void>((res) => { setTimeout(() => res(), 100) })',
      'const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))',
      'function delay(ms) {',
      'await sleep(200)',
      "import { setTimeout as wait } from 'node:timers/promises'",
    ]
    expect(offending.map((s, i) => rawSleeps(`made-up-${i}.ts`, s).length)).toEqual(offending.map(() => 1))
    const fine = [
      "await letTimePass(1_200, 'the lease runs past two lifetimes')",
      'const t = setTimeout(() => reject(new Error("timed out")), timeoutMs)',
      'proxy.delay(120, 30)',
      'const delay = this.proxy.currentDelay()',
      'await vi.advanceTimersByTimeAsync(500)',
      'await settlesWithin(exited, 3_000)',
    ]
    expect(fine.flatMap((s) => rawSleeps('made-up.ts', s))).toEqual([])
  })
})
