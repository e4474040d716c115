import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { COMMAND_NAMES, EVENT_TYPES, TOPIC_TABLE, errorCodeDescriptions } from '../../edge/protocol/index.ts'
import { CONTRACT_DOC, SCHEMA_DIR, renderContractFiles } from '../../docs/tools/contract-docs.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const HINT = 'the generated contract docs are stale: run `npm run docs` and commit the result'

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
}

describe('generated contract docs', () => {
  const files = renderContractFiles()

  it('are rendered deterministically', () => {
    expect(renderContractFiles()).toEqual(files)
  })

  it('match docs/contract.md and every file under docs/schema', () => {
    const problems: string[] = []
    for (const [path, content] of files) {
      const full = join(root, path)
      if (!existsSync(full)) problems.push(`missing: ${path}`)
      else if (readFileSync(full, 'utf8') !== content) problems.push(`stale:   ${path}`)
    }
    for (const full of listFiles(join(root, SCHEMA_DIR))) {
      const path = relative(root, full).split('\\').join('/')
      if (!files.has(path)) problems.push(`extra:   ${path}`)
    }
    expect(problems, `${HINT}\n${problems.join('\n')}`).toEqual([])
  })

  it('cover every topic, command, event and error code', () => {
    const doc = files.get(CONTRACT_DOC) ?? ''
    for (const spec of Object.values(TOPIC_TABLE)) expect(doc).toContain(`\`${spec.pattern}\``)
    for (const name of COMMAND_NAMES) {
      expect(doc).toContain(`### \`${name}\``)
      expect(files.has(`${SCHEMA_DIR}/commands/${name}.json`)).toBe(true)
    }
    for (const type of EVENT_TYPES) {
      expect(doc).toContain(`### \`${type}\``)
      expect(files.has(`${SCHEMA_DIR}/events/${type}.json`)).toBe(true)
    }
    for (const code of Object.keys(errorCodeDescriptions)) expect(doc).toContain(`| \`${code}\` |`)
  })

  it('write JSON Schemas that forbid unknown fields and list the required ones', () => {
    const call = JSON.parse(files.get(`${SCHEMA_DIR}/commands/call.json`) ?? '{}')
    expect(call).toMatchObject({ additionalProperties: false, required: ['id', 'expires', 'ticket'] })
    expect(call.properties.green).toMatchObject({ type: 'boolean', default: false })
    const evaluated = JSON.parse(files.get(`${SCHEMA_DIR}/events/evaluated.json`) ?? '{}')
    expect(evaluated.properties.type).toMatchObject({ const: 'evaluated' })
    expect(evaluated.properties.v).toMatchObject({ const: 1 })
  })
})
