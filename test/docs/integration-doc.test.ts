import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  ERROR_CODES,
  commandExamples,
  eventExamples,
  extraExamples,
  isCommandName,
  isEventType,
  messageExamples,
  parseMessage,
  parseTopic,
} from '../../edge/protocol/index.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const DOC = 'docs/integration.md'
const text = readFileSync(join(root, DOC), 'utf8')

interface Block {
  topic: string
  payload: unknown
  line: number
}

/** Every ```json block whose preceding paragraph line names its topic in backticks. */
function topicBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```json') continue
    const end = lines.indexOf('```', i + 1)
    let j = i - 1
    while (j >= 0 && lines[j]!.trim() === '') j--
    const topics = [...(lines[j] ?? '').matchAll(/`(hall\/[^`]+)`/g)].map((m) => m[1]!)
    const topic = topics.at(-1)
    if (topic) out.push({ topic, payload: JSON.parse(lines.slice(i + 1, end).join('\n')), line: i + 1 })
    i = end
  }
  return out
}

describe('docs/integration.md', () => {
  const blocks = topicBlocks(text)

  it('shows a whole session: sign-in, call, start, capture, finish and the rating', () => {
    const seen = blocks.map((b) => b.topic.split('/').slice(4).join('/'))
    for (const t of ['status', 'cmd/officer', 'cmd/call', 'event/called', 'reply', 'cmd/start', 'event/service-started', 'state', 'cmd/capture', 'event/capture-done', 'cmd/finish', 'event/service-finished', 'event/evaluated']) {
      expect(seen, `a JSON example on ${t}`).toContain(t)
    }
  })

  it('every JSON payload in it is valid on its topic', () => {
    expect(blocks, 'every ```json block names its topic on the line before it').toHaveLength(text.split('\n').filter((l) => l === '```json').length)
    for (const b of blocks) {
      const parsed = parseMessage(b.topic, JSON.stringify(b.payload))
      expect(parsed.ok ? 'ok' : `${parsed.code}: ${parsed.message}`, `${DOC}:${b.line} on ${b.topic}`).toBe('ok')
    }
  })

  it('every JSON payload is one of the reference examples of edge/protocol, so it cannot drift', () => {
    for (const b of blocks) {
      const t = parseTopic(b.topic)!
      let candidates: unknown[]
      if (t.kind === 'cmd' && isCommandName(t.name)) candidates = [commandExamples[t.name]]
      else if (t.kind === 'event' && isEventType(t.type)) candidates = [eventExamples[t.type]]
      else if (t.kind === 'status') candidates = [messageExamples.status, extraExamples.statusOffline]
      else if (t.kind === 'reply') candidates = [messageExamples.reply, extraExamples.replyRefused]
      else if (t.kind === 'state') candidates = [messageExamples.state]
      else candidates = []
      expect(candidates, `${DOC}:${b.line}: ${b.topic} is the reference example`).toContainEqual(b.payload)
    }
  })

  it('lists every error code', () => {
    for (const code of ERROR_CODES) expect(text, code).toContain(`| \`${code}\` |`)
  })

  it('links only to headings that exist (GitHub anchors)', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-')
    const anchors = (markdown: string) => new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)))
    const links = [...text.matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)]
    expect(links.length).toBeGreaterThan(2)
    for (const [, file, anchor] of links) {
      const target = file ? readFileSync(join(root, 'docs', file!), 'utf8') : text
      expect(anchors(target), `${file}#${anchor}`).toContain(anchor)
    }
  })

  it('links only to files that exist', () => {
    const links = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l))
    expect(links.length).toBeGreaterThan(3)
    for (const link of links) expect(existsSync(join(root, 'docs', link)), link).toBe(true)
    expect(text).toContain('npx tsx docs/examples/central-client.ts --url mqtt://127.0.0.1:1884 --hall hall-1 --counter w01')
  })
})
