import { idSchema, SELF_TESTS, type SelfTest } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { commandWindow } from './window-command.ts'
import { selfTestReport } from './selftest-report.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { checkedFlag } from './flag-value.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'
import { whyUnreachable, windowPresence } from './window-presence.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

/** A self-test lights the display for 2 s and fires every capture trigger; a minute covers a slow camera. */
const SELF_TEST_WAIT_MS = 60_000

export const selftestCommand: Subcommand = {
  name: 'selftest',
  summary: COMMAND_SUMMARIES.selftest,
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge selftest --counter w05 [--tests display,keys,triggers] [--json] --username hall-1-tech',
  options: {
    ...HUB_OPTIONS,
    counter: { type: 'string', description: '窗口 id，如 w05 / the window, e.g. w05' },
    tests: { type: 'string', default: SELF_TESTS.join(','), description: `以逗号分隔：${SELF_TESTS.join('、')} / comma-separated: ${SELF_TESTS.join(', ')}` },
    json: { type: 'boolean', default: false, description: "以 JSON 打印设备的应答，而不是报告 / print the board's reply as JSON instead of the report" },
  },
  async run(v) {
    const counter = checkedFlag(idSchema, v.counter, '--counter', { zh: '缺少 --counter：要自检的窗口，如 w05', en: '--counter is required: the window to test, e.g. w05' })
    const tests = String(v.tests).split(',').map((t) => t.trim()).filter(Boolean)
    const unknown = tests.filter((t) => !(SELF_TESTS as readonly string[]).includes(t))
    if (unknown.length || tests.length === 0) {
      const hint = unknown.length === 1 ? didYouMean(unknown[0]!, SELF_TESTS) : { zh: '', en: '' }
      throw new UsageError(
        `--tests：${unknown.length ? `没有测试 ${unknown.join('、')}` : '未给出测试'}${hint.zh}；可选 ${SELF_TESTS.join('、')}` +
          ` / --tests: unknown ${unknown.join(', ') || '(none given)'}${hint.en}; choose from ${SELF_TESTS.join(', ')}`,
      )
    }
    const hall = v.hall as string
    const client = await connectToHub(v, 'selftest')
    try {
      const why = whyUnreachable(await windowPresence(client, hall, counter), hall, counter)
      if (why) {
        console.error(why)
        return 1
      }
      const fires = tests.includes('triggers')
      if (!v.json) console.log(`正在测试窗口 ${counter}（显示屏会闪烁 "----"${fires ? '，采集设备会触发' : ''}）/ testing window ${counter}: ${tests.join(', ')} (the display blinks "----"${fires ? '; captures fire their triggers' : ''})…`)
      const r = await commandWindow(client, hall, counter, 'self-test', { tests: tests as SelfTest[] }, SELF_TEST_WAIT_MS)
      if (v.json) {
        console.log(JSON.stringify(r, null, 2))
        return r.ok ? 0 : 1
      }
      if (!r.ok && r.code === 'busy') {
        // The board's words are English (the contract's); the technician at the window reads what to do in Chinese first.
        console.error(
          `窗口 ${counter} 现在不能做采集触发测试（会启动摄像头和指纹仪）：窗口有申请人或采集正在进行。现在可只测 --tests display,keys，触发测试请在窗口空闲、暂停或关闭后再做` +
            ` / window ${counter} refused the self-test: ${r.message}`,
        )
        return 1
      }
      if (!r.ok && r.code !== 'device-fault') {
        console.error(`窗口 ${counter} 拒绝了自检 / window ${counter} refused the self-test: ${r.code}: ${r.message}`)
        return 1
      }
      const lines = selfTestReport(counter, r.ok, r.result, r.message)
      if (r.ok) console.log(lines.join('\n'))
      else console.error(lines.join('\n'))
      return r.ok ? 0 : 1
    } finally {
      await client.endAsync()
    }
  },
}
