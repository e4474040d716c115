import { parseArgs } from 'node:util'
import { VERSION } from '../edge/shared/version.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { nodeTooOld } from './node-version.ts'

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

function mainHelp(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((k) => k.length))
  return [
    `counter-edge ${VERSION}: counter-terminal runtime for public service halls`,
    '',
    'Usage: counter-edge <command> [options]',
    '',
    'Commands:',
    ...Object.entries(SUMMARIES).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    'Run `counter-edge <command> --help` for the options of a command.',
  ].join('\n')
}

function commandHelp(c: Subcommand): string {
  const lines = [`counter-edge ${c.name}: ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:']
  for (const [name, o] of Object.entries(c.options)) {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`
    const desc = o.description
    const def = o.default !== undefined ? ` (default: ${String(o.default)})` : ''
    lines.push(`  ${flag.padEnd(28)} ${desc}${def}`)
  }
  lines.push(`  ${'--help'.padEnd(28)} show this help`)
  return lines.join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) {
      console.log(commandHelp(await COMMANDS[rest[0]]!()))
      return 0
    }
    console.log(mainHelp())
    return name ? 0 : 2
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION)
    return 0
  }
  const load = COMMANDS[name]
  if (!load) {
    console.error(`counter-edge: unknown command "${name}"\n\n${mainHelp()}`)
    return 2
  }
  const old = nodeTooOld()
  if (old) {
    console.error(old)
    return 1
  }
  const cmd = await load()
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(cmd))
    return 0
  }
  let parsed
  try {
    const options = Object.fromEntries(Object.entries(cmd.options).map(([k, { description: _d, ...v }]) => [k, v]))
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true })
  } catch (err) {
    console.error(`counter-edge ${name}: ${parseArgsProblem(err as Error & { code?: string }, rest, cmd)}\n\n${commandHelp(cmd)}`)
    return 2
  }
  try {
    const result = await cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals)
    if (typeof result === 'number') return result
    return await runUntilSignalled(result)
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`counter-edge ${name}: ${err.message}\nRun \`counter-edge ${name} --help\` for the options.`)
      return 2
    }
    console.error(`counter-edge ${name}: ${withCauses(err)}`)
    if (process.env.DEBUG) console.error((err as Error).stack)
    return 1
  }
}

/**
 * parseArgs's own text ("Unknown option '--x'. To specify a positional argument starting with a '-'…")
 * speaks of its API, not of our command; this says which flag and what the command takes.
 */
function parseArgsProblem(err: Error & { code?: string }, args: string[], cmd: Subcommand): string {
  const quoted = /'(-{1,2}[^']+)'/.exec(err.message)?.[1] ?? args.find((a) => a.startsWith('-')) ?? ''
  const bare = quoted.replace(/^-+/, '').split(/[= ]/)[0]!
  const flag = quoted.split(/[= ]/)[0]!
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = Object.keys(cmd.options).find((o) => o.startsWith(bare.slice(0, 3)) && bare.length > 0)
      return `未知选项 ${flag} / unknown option ${flag}${near ? ` (did you mean --${near}?)` : ''}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const spec = cmd.options[bare]
      return spec?.type === 'boolean'
        ? `选项 --${bare} 不带值 / option --${bare} takes no value`
        : `选项 --${bare} 需要一个值 / option --${bare} needs a value: --${bare} <value>`
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `多余的参数 / unexpected argument: ${err.message}`
    default:
      return err.message
  }
}

/** An error and what caused it: LevelDB says only "Database failed to open"; its cause says why (e.g. no space left). */
function withCauses(err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = (e as Error & { cause?: unknown }).cause) parts.push(e.message)
  return parts.join(': ') || String(err)
}

/** Services run until Ctrl-C or SIGTERM, then stop in order; a second Ctrl-C forces the exit. */
function runUntilSignalled(stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        console.error(`counter-edge: ${sig} again, exiting now`)
        process.exit(130)
      }
      stopping = true
      stop().then(
        () => resolve(0),
        (err: Error) => {
          console.error(`counter-edge: error while stopping: ${err.message}`)
          resolve(1)
        },
      )
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

process.exitCode = await main(process.argv.slice(2))
// Lingering sockets or timers of a stopped service must not keep a stopped process alive.
setTimeout(() => process.exit(process.exitCode as number), 200).unref()
