import type { ProfileLine } from '../../boards/profile-lines.ts'
import type { Edge, LineSpec } from './gpio-port.ts'

/** How the runtime opens a profile line: inputs watched on both edges, outputs starting inactive (CS idle high). */
export function lineSpecFor(line: ProfileLine): LineSpec {
  const edge: Edge | undefined = line.direction === 'in' ? 'both' : undefined
  return {
    name: line.name,
    chip: line.ref.chip,
    offset: line.ref.offset,
    direction: line.direction,
    activeLow: line.ref.activeLow,
    ...(line.ref.bias !== undefined ? { bias: line.ref.bias } : {}),
    ...(line.ref.debounceUs !== undefined ? { debounceUs: line.ref.debounceUs } : {}),
    ...(edge !== undefined ? { edge } : { initial: line.initial ?? 0 }),
  }
}
