/**
 * The repository's import graph, read from the sources: every relative
 * import (static, dynamic, type-only and re-exports alike), resolved to the
 * file it names. docs/architecture.md describes the rooms this groups files
 * into and the arrows allowed between them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')

/** Rooms in the order a file is matched: the first prefix that fits names its room. */
export const ROOMS = [
  ['edge/protocol/', 'protocol'],
  ['edge/shared/', 'shared'],
  ['edge/', 'edge'],
  ['boards/', 'boards'],
  ['hub/', 'hub'],
  ['sim/', 'sim'],
  ['cli/', 'cli'],
  ['docs/', 'docs'],
  ['test/', 'test'],
] as const

export type Room = (typeof ROOMS)[number][1]

/** Which rooms each room may import from (itself always). The contract and the shared helpers are the floor. */
export const ALLOWED: Record<Room, readonly Room[]> = {
  protocol: [],
  shared: ['protocol'],
  boards: ['protocol'],
  edge: ['protocol', 'shared', 'boards'],
  hub: ['protocol', 'shared'],
  sim: ['protocol', 'shared', 'boards', 'edge', 'hub'],
  cli: ['protocol', 'shared', 'boards', 'edge', 'hub', 'sim'],
  docs: ['protocol', 'shared'],
  test: ['protocol', 'shared', 'boards', 'edge', 'hub', 'sim', 'cli', 'docs'],
}

export function roomOf(file: string): Room | null {
  for (const [prefix, room] of ROOMS) if (file.startsWith(prefix)) return room
  return null
}

const SOURCE = /\.(ts|mts|mjs)$/
const SKIP = new Set(['node_modules', 'dist', '.git', '.tmp'])

export function sourceFiles(dir = ROOT): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (SOURCE.test(name)) out.push(relative(ROOT, path))
  }
  return out.sort()
}

// `import … from '…'`, `export … from '…'`, `import '…'`, `import('…')`: any quoted relative path after one of them.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm

export interface ImportEdge {
  from: string
  to: string
}

export function importEdges(files = sourceFiles()): ImportEdge[] {
  const edges: ImportEdge[] = []
  for (const from of files) {
    const text = readFileSync(join(ROOT, from), 'utf8')
    for (const m of text.matchAll(SPECIFIER)) {
      const to = relative(ROOT, resolve(ROOT, dirname(from), m[2]!))
      if (SOURCE.test(to)) edges.push({ from, to })
    }
  }
  return edges
}

/** Import cycles among `files`, each as the list of files around it (Tarjan's strongly connected components). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>()
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to])
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  let counter = 0
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) cycles.push(component.reverse())
    }
  }
  for (const v of next.keys()) if (!index.has(v)) visit(v)
  return cycles
}
