import type { Subcommand } from './subcommand.ts'
import { runCommandLine } from './run-command-line.ts'

// Loaded lazily: `counter-edge edge` on a board must not pay for the hub's or the simulator's imports.
const COMMANDS: Record<string, () => Promise<Subcommand>> = {
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

const SUMMARIES: Record<string, string> = {
  sim: 'run a whole simulated hall: hub, central stand-in, central queue stub, simulated windows',
  hub: 'run the in-hall hub (MQTT broker with authentication, ACL and bridge to central)',
  edge: 'run the runtime of one counter board',
  provision: 'add a board (or another client) to a hub credentials file and print its config once',
  status: 'one line per window of the hall: online, mode, ticket, officer, faults; exit code 1 when any window needs a look',
  identify: "blink a window's display so a technician can find it in the hall",
  selftest: 'test a window: display lamp test, keys, capture trigger loopback',
  'outputs-off': 'drive every output of a board profile inactive and release it (the unit runs it after every stop)',
  announcer: "the hall's voice caller: make the default voice pack, try a call on the speakers",
  install: 'set up a board: service user, folders, unit, a release, its config and key; check the hardware',
  launch: 'run the board runtime of an installed board under the launcher that confirms updates and rolls them back',
  release: "build a signed release of the board runtime (release build), or the hall's release key pair (release keygen)",
  update: "update the hall's boards through the hub: upload a signed release, start, follow and cancel a rollout",
}

process.exitCode = await runCommandLine(process.argv.slice(2), COMMANDS, SUMMARIES)
// Lingering sockets or timers of a stopped service must not keep a stopped process alive.
setTimeout(() => process.exit(process.exitCode as number), 200).unref()
