import { COMMAND_LOADERS } from './command-loaders.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'
import { runCommandLine } from './run-command-line.ts'

process.exitCode = await runCommandLine(process.argv.slice(2), COMMAND_LOADERS, COMMAND_SUMMARIES)
// Lingering sockets or timers of a stopped service must not keep a stopped process alive.
setTimeout(() => process.exit(process.exitCode as number), 200).unref()
