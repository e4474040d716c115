import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, sourceFiles } from './import-graph.ts'

/**
 * Rules of docs/architecture.md that a grep can hold: no cast to `never`
 * (a type the contract should have given) and no comment sending a reader to
 * a file the repository does not have. Topic literals have their own check
 * (topic-literals.test.ts).
 */

const files = sourceFiles().filter((f) => f !== 'test/architecture/source-rules.test.ts')
const text = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]))

function lines(file: string, pattern: RegExp): string[] {
  return text
    .get(file)!
    .split('\n')
    .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []))
}

/** A cast to never, anywhere. */
export const CAST_TO_NEVER = /\bas never\b/
/** A pointer to a document outside the repository: the design and domain notes, the reference folder, or a hardware.md that is not docs/hardware.md. */
export const OUTSIDE_POINTER = /DESIGN\.md|DOMAIN\.md|shared\/reference|(?<!docs\/)\bhardware\.md|\bbroker\.md|\bdomain\.md/

describe('source rules (docs/architecture.md §2)', () => {
  it('the patterns catch what they are for', () => {
    expect(CAST_TO_NEVER.test('link.event(t, fields as never)')).toBe(true)
    expect(OUTSIDE_POINTER.test(' * HT16K33 drivers (hardware.md §4.2)')).toBe(true)
    expect(OUTSIDE_POINTER.test(' * HT16K33 drivers (docs/hardware.md §4.2)')).toBe(false)
    expect(OUTSIDE_POINTER.test(' * the custody chain (DESIGN.md §4)')).toBe(true)
  })

  it('no cast to never', () => {
    expect(files.flatMap((f) => lines(f, CAST_TO_NEVER))).toEqual([])
  })

  it('comments point only into the repository, at documents that exist', () => {
    const docs = [...files, 'README.md', 'hub/README.md', 'docs/operations.md', 'docs/integration.md', 'docs/reliability.md']
    for (const f of docs) if (!text.has(f)) text.set(f, readFileSync(join(ROOT, f), 'utf8'))
    expect(docs.flatMap((f) => lines(f, OUTSIDE_POINTER))).toEqual([])
    const cited = new Set([...text.values()].flatMap((t) => [...t.matchAll(/\bdocs\/([a-z-]+\.md)\b/g)].map((m) => m[1]!)))
    const missing = [...cited].filter((name) => {
      try {
        readFileSync(join(ROOT, 'docs', name))
        return false
      } catch {
        return true
      }
    })
    expect(missing).toEqual([])
  })
})
