// Kept apart from main.ts: subcommands import these while main.ts is still
// evaluating its top-level await, and a cycle through main.ts would deadlock.

export interface OptionSpec {
  type: 'string' | 'boolean'
  default?: string | boolean
  description: string
}

/** A subcommand: its own flags and help; run() returns the exit code or a stop function for services. */
export interface Subcommand {
  name: string
  /** From cli/command-summaries.ts, the one text the main help prints too. */
  summary: string
  /** More than the one line, printed under it in the command's own help only: "中文 / English". */
  details?: string
  usage: string
  options: Record<string, OptionSpec>
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number | (() => Promise<void>)>
}

export class UsageError extends Error {
  override readonly name = 'UsageError'
}
