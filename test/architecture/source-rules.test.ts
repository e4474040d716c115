import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, sourceFiles } from './import-graph.ts'

/**
 * Rules of docs/architecture.md that a grep can hold: no cast to `never`
 * (a type the contract should have given), and every document the code or
 * the docs send a reader to is in this repository. Topic literals have their
 * own check (topic-literals.test.ts).
 */

// This file feeds the checks made-up offenders; it is the one file they do not scan.
const files = sourceFiles().filter((f) => f !== 'test/architecture/source-rules.test.ts')
const text = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]))
const MARKDOWN = ['README.md', 'hub/README.md', ...['architecture', 'hardware', 'integration', 'operations', 'reliability', 'contract', 'benchmarks'].map((n) => `docs/${n}.md`)]

/** A cast to never, written as code. */
const CAST_TO_NEVER = /\bas never\b/
/** A document named in code: a path or a bare name ending in .md. */
const DOC_NAME = /[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b/g
/** A markdown link to another markdown file (anchor dropped). */
const DOC_LINK = /\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g

function lines(file: string, source: string, pattern: RegExp): string[] {
  return source.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []))
}

/** A name resolves from the repository root, or, bare, as one of docs/ (generated docs and benchmark output name theirs so). */
function docNamedInCodeExists(name: string): boolean {
  return existsSync(join(ROOT, name)) || (!name.includes('/') && existsSync(join(ROOT, 'docs', name)))
}

export function missingDocsNamedIn(file: string, source: string, exists = docNamedInCodeExists): string[] {
  return [...source.matchAll(DOC_NAME)].map((m) => m[0]).filter((name) => !exists(name)).map((name) => `${file}: ${name}`)
}

export function brokenLinksIn(file: string, source: string, exists = (p: string) => existsSync(join(ROOT, p))): string[] {
  return [...source.matchAll(DOC_LINK)]
    .map((m) => normalize(join(dirname(file), m[1]!)))
    .filter((target) => target.startsWith('..') || !exists(target))
    .map((target) => `${file} → ${target}`)
}

describe('source rules (docs/architecture.md §2)', () => {
  it('the checks catch what they are for', () => {
    expect(CAST_TO_NEVER.test('link.event(t, fields as never)')).toBe(true)
    const none = () => false
    expect(missingDocsNamedIn('edge/x.ts', ' * the fonts (notes-kept-elsewhere.md §4.2)', none)).toEqual(['edge/x.ts: notes-kept-elsewhere.md'])
    expect(missingDocsNamedIn('edge/x.ts', ' * see docs/hardware.md §4.2')).toEqual([])
    expect(brokenLinksIn('docs/a.md', 'see [the notes](../../elsewhere/notes.md)')).toEqual(['docs/a.md → ../elsewhere/notes.md'])
    expect(brokenLinksIn('docs/a.md', 'see [hardware](hardware.md#4-chips)')).toEqual([])
  })

  it('no cast to never', () => {
    expect(files.flatMap((f) => lines(f, text.get(f)!, CAST_TO_NEVER))).toEqual([])
  })

  it('every document the code names is in the repository', () => {
    expect(files.flatMap((f) => missingDocsNamedIn(f, text.get(f)!))).toEqual([])
  })

  it('every link between the project\'s documents stays inside the repository and resolves', () => {
    expect(MARKDOWN.flatMap((f) => brokenLinksIn(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([])
  })
})
