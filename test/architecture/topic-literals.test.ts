import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, sourceFiles } from './import-graph.ts'

/** The contract's topic builders, and the table whose patterns the docs show; everything else asks them. */
const OWNERS = new Set(['edge/protocol/topics.ts', 'edge/protocol/messages.ts'])
const PRODUCTION = /^(edge|hub|sim|cli|boards)\//

/** A string or template literal that starts a topic: `'hall/…`, `"hall/…` or `` `hall/… ``. */
const TOPIC_LITERAL = /(['"`])hall\//

function handBuilt(files: readonly string[], read: (file: string) => string): string[] {
  return files.flatMap((file) =>
    read(file)
      .split('\n')
      .flatMap((line, i) => (TOPIC_LITERAL.test(line) && !line.trimStart().startsWith('//') && !line.trimStart().startsWith('*') ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  )
}

describe('topic strings', () => {
  it('are built only by the contract (tests keep literal topics as its independent oracle)', () => {
    const files = sourceFiles().filter((f) => PRODUCTION.test(f) && !OWNERS.has(f))
    expect(files.length).toBeGreaterThan(100)
    expect(handBuilt(files, (f) => readFileSync(join(ROOT, f), 'utf8'))).toEqual([])
  })

  it('the check sees a hand-built topic when there is one', () => {
    const sources: Record<string, string> = {
      'hub/a.ts': 'const f = `hall/${hall}/counter/+/event/+`',
      'hub/b.ts': "client.subscribe('hall/h1/#')",
      'hub/c.ts': '// hall/{hall}/hub/bridge in a comment is fine\nconst t = topics.hubBridge(hall)',
    }
    expect(handBuilt(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'hub/a.ts:1: const f = `hall/${hall}/counter/+/event/+`',
      "hub/b.ts:1: client.subscribe('hall/h1/#')",
    ])
  })
})
