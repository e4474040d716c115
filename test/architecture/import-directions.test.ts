import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ALLOWED, ROOT, importCycles, importEdges, roomOf, sourceFiles, type ImportEdge } from './import-graph.ts'

const edges = importEdges()

function forbidden(list: readonly ImportEdge[]): string[] {
  return list.flatMap(({ from, to }) => {
    const a = roomOf(from)
    const b = roomOf(to)
    if (a === null || b === null || a === b || ALLOWED[a].includes(b)) return []
    return [`${from} (${a}) → ${to} (${b})`]
  })
}

describe('the import graph (docs/architecture.md)', () => {
  it('reads the whole tree, and every relative import names a file that exists', () => {
    expect(sourceFiles().length).toBeGreaterThan(200)
    expect(edges.length).toBeGreaterThan(500)
    expect(edges.filter((e) => !existsSync(join(ROOT, e.to))).map((e) => `${e.from} → ${e.to}`)).toEqual([])
  })

  it('has arrows only in the allowed directions', () => {
    expect(forbidden(edges)).toEqual([])
  })

  it('sees a forbidden arrow when there is one', () => {
    // The check itself: made-up edges of each kind the rules exist to stop.
    expect(forbidden([
      { from: 'edge/main.ts', to: 'hub/main.ts' },
      { from: 'edge/devices/x.ts', to: 'sim/gpio.ts' },
      { from: 'boards/profile-lines.ts', to: 'edge/hardware/gpio-port.ts' },
      { from: 'hub/bridge.ts', to: 'edge/link/board-link.ts' },
      { from: 'edge/protocol/topics.ts', to: 'edge/shared/logger.ts' },
    ])).toHaveLength(5)
    expect(forbidden([{ from: 'hub/bridge.ts', to: 'edge/shared/mqtt-connect.ts' }])).toEqual([])
  })

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(edges)).toEqual([])
    expect(importCycles([
      { from: 'a.ts', to: 'b.ts' },
      { from: 'b.ts', to: 'a.ts' },
    ])).toEqual([['a.ts', 'b.ts']])
  })
})
