import { describe, it, expect } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { COMMAND_LOADERS } from '../../cli/command-loaders.ts'
import { commandHelp } from '../../cli/run-command-line.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const CHINESE = /[\u4e00-\u9fff]/

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr })
    })
  })
}

/** Each command's --help as the command line prints it (one process per command took minutes on a busy machine). */
async function helps(): Promise<Array<[string, string]>> {
  return Promise.all(Object.entries(COMMAND_LOADERS).map(async ([name, load]) => [name, commandHelp(await load())] as [string, string]))
}

describe("every command's --help, as a technician reads it", () => {
  it('says each option in Chinese with English beside it, for every command', { timeout: 60_000 }, async () => {
    const english: string[] = []
    let options = 0
    for (const [name, help] of await helps()) {
      const lines = help.split('\n')
      const from = lines.indexOf('选项 Options:')
      expect(from, `${name} --help has its options`).toBeGreaterThan(0)
      for (const line of lines.slice(from + 1).filter((l) => /^\s+--/.test(l))) {
        options++
        const text = line.replace(/^\s+--\S+( <value>)?\s+/, '').replace(/ \(默认 default: .*\)$/, '')
        // Chinese first, then " / " and the English: a line in one language only is a line a technician misses.
        const at = text.indexOf(' / ')
        if (at < 0 || !CHINESE.test(text.slice(0, at)) || !/[A-Za-z]/.test(text.slice(at + 3))) english.push(`${name}: ${line.trim()}`)
      }
    }
    expect(options).toBeGreaterThan(Object.keys(COMMAND_LOADERS).length * 2)
    expect(english).toEqual([])
  })

  it('the main help lists each command with the very summary its own --help prints', { timeout: 60_000 }, async () => {
    const main = await cli(['--help'])
    const mainLines = main.out.split('\n')
    for (const [name, help] of await helps()) {
      const summary = help.split('\n')[0]!.replace(`counter-edge ${name}: `, '')
      const at = summary.indexOf(' / ')
      expect(at, summary).toBeGreaterThan(0)
      // The main help puts the Chinese on the command's line and the English under it.
      const row = mainLines.findIndex((l) => l.startsWith(`  ${name} `))
      expect(row, `${name} in the main help`).toBeGreaterThan(0)
      expect(mainLines[row]!.replace(/^\s+\S+\s+/, ''), name).toBe(summary.slice(0, at))
      expect(mainLines[row + 1]!.trim(), name).toBe(summary.slice(at + 3))
    }
  })
})
