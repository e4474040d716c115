import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCHEMA_DIR, renderContractFiles } from './contract-docs.ts'

/**
 * `tsx docs/tools/gen-contract.ts` writes docs/contract.md, docs/asyncapi.json and docs/schema/**;
 * `--check` writes nothing and exits 1 when any of them is stale, so CI can
 * catch a schema change committed without its docs.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name)
    return entry.isDirectory() ? listFiles(full) : [full]
  })
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

const files = renderContractFiles()
const onDisk = listFiles(join(root, SCHEMA_DIR)).map((f) => relative(root, f).split('\\').join('/'))
const extra = onDisk.filter((f) => !files.has(f)).sort()
const missing: string[] = []
const stale: string[] = []
for (const [path, content] of files) {
  const current = readOrNull(join(root, path))
  if (current === null) missing.push(path)
  else if (current !== content) stale.push(path)
}

if (process.argv.includes('--check')) {
  if (missing.length + stale.length + extra.length === 0) {
    console.log(`contract docs are up to date (${files.size} files)`)
    process.exit(0)
  }
  const lines = [
    ...stale.map((f) => `  stale:   ${f}`),
    ...missing.map((f) => `  missing: ${f}`),
    ...extra.map((f) => `  extra:   ${f}`),
  ]
  console.error(`contract docs differ from edge/protocol:\n${lines.join('\n')}\nrun \`npm run docs\` to regenerate them`)
  process.exit(1)
}

for (const [path, content] of files) {
  const full = join(root, path)
  mkdirSync(dirname(full), { recursive: true })
  if (readOrNull(full) !== content) writeFileSync(full, content)
}
for (const path of extra) rmSync(join(root, path))
console.log(
  `wrote ${files.size} contract files (${stale.length} changed, ${missing.length} new, ${extra.length} removed)`,
)
