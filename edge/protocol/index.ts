/**
 * The wire contract of counter-edge (docs/architecture.md §3). Hub, simulator and central
 * integrators import from here; this folder depends on zod and nothing else.
 */
export * from './ids.ts'
export * from './errors.ts'
export * from './vocabulary.ts'
export * from './public-window.ts'
export * from './envelope.ts'
export * from './payload.ts'
export * from './commands.ts'
export * from './events.ts'
export * from './topics.ts'
export * from './release.ts'
export * from './messages.ts'
export * from './board-messages.ts'
export * from './examples.ts'
