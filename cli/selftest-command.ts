import { idSchema, SELF_TESTS, type SelfTest } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { commandWindow } from './window-command.ts'
import { UsageError, type Subcommand } from './subcommand.ts'

export const selftestCommand: Subcommand = {
  name: 'selftest',
  summary: 'test a window: display lamp test, keys, capture trigger loopback',
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge selftest --counter w05 [--tests display,keys,triggers] --username hall-1-tech',
  options: {
    ...HUB_OPTIONS,
    counter: { type: 'string', description: 'the window' },
    tests: { type: 'string', default: SELF_TESTS.join(','), description: `comma-separated: ${SELF_TESTS.join(', ')}` },
  },
  async run(v) {
    const counter = idSchema.safeParse(v.counter)
    if (!counter.success) throw new UsageError(`--counter: ${v.counter === undefined ? 'required' : counter.error.issues[0]!.message}`)
    const tests = String(v.tests).split(',').map((t) => t.trim()).filter(Boolean)
    const unknown = tests.filter((t) => !(SELF_TESTS as readonly string[]).includes(t))
    if (unknown.length || tests.length === 0) throw new UsageError(`--tests: unknown ${unknown.join(', ') || '(none given)'}; choose from ${SELF_TESTS.join(', ')}`)
    const client = await connectToHub(v, 'selftest')
    try {
      console.log(`testing window ${counter.data}: ${tests.join(', ')} (the display blinks "----"; captures fire their triggers)…`)
      const r = await commandWindow(client, v.hall as string, counter.data, 'self-test', { tests: tests as SelfTest[] }, 60_000)
      if (r.ok) {
        for (const [k, val] of Object.entries(r.result ?? {})) console.log(`  ${k.padEnd(9)} ${typeof val === 'string' ? val : JSON.stringify(val)}`)
        console.log('all tests passed')
        return 0
      }
      console.error(`self-test failed: ${r.code}: ${r.message}`)
      return 1
    } finally {
      await client.endAsync()
    }
  },
}
