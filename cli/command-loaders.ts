import type { CommandName } from './command-summaries.ts'
import type { Subcommand } from './subcommand.ts'

/**
 * Every command of `counter-edge`, loaded lazily: `counter-edge edge` on a board must not pay for the hub's or
 * the simulator's imports. Keyed by the summaries' names, so a command without a summary does not compile.
 */
export const COMMAND_LOADERS: Record<CommandName, () => Promise<Subcommand>> = {
  sim: async () => (await import('./sim-command.ts')).simCommand,
  hub: async () => (await import('./hub-command.ts')).hubCommand,
  edge: async () => (await import('./edge-command.ts')).edgeCommand,
  provision: async () => (await import('./provision-command.ts')).provisionCommand,
  status: async () => (await import('./status-command.ts')).statusCommand,
  identify: async () => (await import('./identify-command.ts')).identifyCommand,
  selftest: async () => (await import('./selftest-command.ts')).selftestCommand,
  'outputs-off': async () => (await import('./outputs-off-command.ts')).outputsOffCommand,
  announcer: async () => (await import('./announcer-command.ts')).announcerCommand,
  release: async () => (await import('./release-command.ts')).releaseCommand,
  launch: async () => (await import('./launch-command.ts')).launchCommand,
  install: async () => (await import('./install-command.ts')).installCommand,
  update: async () => (await import('./update-command.ts')).updateCommand,
}
