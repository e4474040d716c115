import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BOARD_UNIT = fileURLToPath(new URL('../../edge/supervision/counter-edge.service', import.meta.url))
const HUB_UNIT = 'hub/systemd/counter-edge-hub.service'

/**
 * The node flags the board's systemd unit starts dist/ with, read from its
 * ExecStart= line, so the build test and the footprint bench run what a board
 * runs rather than a copy of it that could drift.
 */
export async function boardUnitNodeFlags(): Promise<string[]> {
  const unit = await readFile(BOARD_UNIT, 'utf8')
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='))
  if (!line) throw new Error(`${BOARD_UNIT} has no ExecStart= line`)
  const words = line.slice('ExecStart='.length).trim().split(/\s+/)
  const script = words.findIndex((w) => w.endsWith('/dist/counter-edge.js'))
  if (script < 0) throw new Error(`the board unit's ExecStart does not run dist/counter-edge.js: ${line}`)
  return words.slice(1, script)
}

/** The environment the board's systemd unit gives the runtime (its Environment= lines), for the footprint bench. */
export async function boardUnitEnvironment(): Promise<Record<string, string>> {
  return unitEnvironment(await readFile(BOARD_UNIT, 'utf8'))
}

/**
 * The environment the hub's systemd unit gives the hub (its Environment= lines; NODE_OPTIONS among them),
 * read from a checkout's own unit so the benches run each checkout's hub as that checkout ships it.
 */
export async function hubUnitEnvironment(checkout: string): Promise<Record<string, string>> {
  return unitEnvironment(await readFile(join(checkout, HUB_UNIT), 'utf8'))
}

function unitEnvironment(unit: string): Record<string, string> {
  return assignments(
    unit
      .split('\n')
      .filter((l) => l.startsWith('Environment='))
      .flatMap((l) => l.slice('Environment='.length).trim().split(/\s+/)),
  )
}

/** KEY=VALUE words as an environment (the value may hold '=' itself, as NODE_OPTIONS does). */
export function assignments(words: string[]): Record<string, string> {
  return Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]))
}
