/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests
 * of /metrics: every line must be a HELP, a TYPE or a sample of a family
 * whose TYPE came first, label values quoted and escaped, values numbers.
 * Samples are found by name and label set, whatever order the labels are
 * written in (prom-client writes a histogram's `le` first).
 */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface PromText {
  samples: PromSample[]
  /** Family name → its TYPE (gauge, counter, histogram, ...). */
  types: Map<string, string>
  help: Map<string, string>
  /** The one sample with exactly these labels; throws naming what is there when there is none. */
  value(name: string, labels: Record<string, string>): number
  /** Whether a sample of this name with (at least) these labels is there. */
  has(name: string, labels?: Record<string, string>): boolean
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`)
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count']

function family(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name
  for (const s of HISTOGRAM_SUFFIXES) {
    if (name.endsWith(s) && ['histogram', 'summary'].includes(types.get(name.slice(0, -s.length)) ?? '')) return name.slice(0, -s.length)
  }
  return undefined
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN' || text === 'Nan') return NaN
  const n = Number(text)
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(n)) throw new Error(`not a number in ${JSON.stringify(line)}`)
  return n
}

export function parsePromText(text: string): PromText {
  const samples: PromSample[] = []
  const types = new Map<string, string>()
  const help = new Map<string, string>()
  const seen = new Set<string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string]
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name in ${JSON.stringify(line)}`)
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in ${JSON.stringify(line)}`)
        if (types.has(name)) throw new Error(`second TYPE for ${name}`)
        types.set(name, rest)
      } else help.set(name, rest)
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
    const name = m[1]!
    if (!family(name, types)) throw new Error(`sample before its TYPE: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) {
      if (l[1]! in labels) throw new Error(`label ${l[1]} twice in ${JSON.stringify(line)}`)
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`
    if (seen.has(key)) throw new Error(`the same series twice: ${JSON.stringify(line)}`)
    seen.add(key)
    samples.push({ name, labels, value: parseValue(m[7]!, line) })
  }
  const same = (a: Record<string, string>, b: Record<string, string>) => Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v)
  return {
    samples,
    types,
    help,
    value(name, labels) {
      const s = samples.find((x) => x.name === name && same(x.labels, labels))
      if (!s) throw new Error(`no ${name}${JSON.stringify(labels)} in /metrics; there: ${JSON.stringify(samples.filter((x) => x.name === name).map((x) => x.labels))}`)
      return s.value
    },
    has(name, labels = {}) {
      return samples.some((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    },
  }
}
