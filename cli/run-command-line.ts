import { parseArgs } from 'node:util'
import { VERSION } from '../edge/shared/version.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { nodeTooOld } from './node-version.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'

function mainHelp(summaries: Record<string, string>): string {
  const width = Math.max(...Object.keys(summaries).map((k) => k.length))
  // Each summary is "中文 / English": the Chinese on the command's line, the English under it.
  const entry = ([k, v]: [string, string]) => {
    const at = v.indexOf(' / ')
    return at < 0 ? [`  ${k.padEnd(width)}  ${v}`] : [`  ${k.padEnd(width)}  ${v.slice(0, at)}`, `  ${''.padEnd(width)}  ${v.slice(at + 3)}`]
  }
  return [
    `counter-edge ${VERSION}: 公共服务大厅窗口终端运行时 / counter-terminal runtime for public service halls`,
    '',
    '用法 Usage: counter-edge <command> [options]',
    '',
    '命令 Commands:',
    ...Object.entries(summaries).flatMap(entry),
    '',
    '命令的选项见 / for the options of a command: counter-edge <command> --help',
  ].join('\n')
}

/** What `counter-edge <command> --help` prints. */
export function commandHelp(c: Subcommand): string {
  const lines = [`counter-edge ${c.name}: ${c.summary}`, ...(c.details ? [c.details] : []), '', `用法 Usage: ${c.usage}`, '', '选项 Options:']
  for (const [name, o] of Object.entries(c.options)) {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`
    const desc = o.description
    const def = o.default !== undefined ? ` (默认 default: ${String(o.default)})` : ''
    lines.push(`  ${flag.padEnd(28)} ${desc}${def}`)
  }
  lines.push(`  ${'--help'.padEnd(28)} 显示此帮助 / show this help`)
  return lines.join('\n')
}

/**
 * Runs one subcommand of the command line: help, version, flags, the command, and for a service its run until
 * SIGINT or SIGTERM. `commands` are loaded lazily, so a command pays only for its own imports; the board's own
 * bundle (cli/board-main.ts) passes the edge command alone.
 */
export async function runCommandLine(argv: string[], commands: Record<string, () => Promise<Subcommand>>, summaries: Record<string, string>): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && commands[rest[0]]) {
      console.log(commandHelp(await commands[rest[0]]!()))
      return 0
    }
    console.log(mainHelp(summaries))
    return name ? 0 : 2
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION)
    return 0
  }
  const load = commands[name]
  if (!load) {
    const hint = didYouMean(name, Object.keys(commands))
    console.error(`counter-edge: 未知命令 "${name}"${hint.zh} / unknown command "${name}"${hint.en}\n\n${mainHelp(summaries)}`)
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
      console.error(`counter-edge ${name}: ${err.message}\n选项见 / for the options: counter-edge ${name} --help`)
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
      const hint = didYouMean(bare, Object.keys(cmd.options), (o) => `--${o}`)
      return `未知选项 ${flag}${hint.zh} / unknown option ${flag}${hint.en}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const spec = cmd.options[bare]
      if (spec?.type === 'boolean') return `选项 --${bare} 不带值 / option --${bare} takes no value`
      // "--wait -5": parseArgs takes a negative number for an option of its own, so say that, not only "needs a value".
      const at = args.lastIndexOf(flag)
      const next = at < 0 ? undefined : args[at + 1]
      if (next !== undefined && /^-[0-9.]/.test(next)) {
        return `选项 --${bare} 需要一个值："${next}" 以 - 开头，被当作了选项；若它就是值，请写 --${bare}=${next} / option --${bare} needs a value: "${next}" starts with - and was taken for an option; if it is the value, write --${bare}=${next}`
      }
      return `选项 --${bare} 需要一个值 / option --${bare} needs a value: --${bare} <value>`
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
        console.error(`counter-edge: 再次收到 ${sig}，立即退出 / ${sig} again, exiting now`)
        process.exit(130)
      }
      stopping = true
      stop().then(
        () => resolve(0),
        (err: Error) => {
          console.error(`counter-edge: 停止时出错 / error while stopping: ${err.message}`)
          resolve(1)
        },
      )
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
