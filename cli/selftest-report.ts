import type { SelfTest } from '../edge/protocol/index.ts'

/**
 * The board's self-test result (edge/devices/self-test.ts) as a technician reads
 * it: one line per device, ok or what failed. A failed test's reply carries the
 * result too; older boards sent it only as the reply's message, as JSON, which is
 * read when there is no result. Anything else is shown as it came.
 */
export function selfTestReport(counter: string, ok: boolean, result: Record<string, unknown> | undefined, message: string | undefined): string[] {
  let r = result
  if (!r && message) {
    try {
      const parsed: unknown = JSON.parse(message)
      if (parsed && typeof parsed === 'object') r = parsed as Record<string, unknown>
    } catch {
      // cut at 480 characters by the board, or not JSON at all: shown as it came below
    }
  }
  const lines: string[] = []
  if (r) {
    for (const [test, value] of Object.entries(r)) {
      const title = TITLES[test as SelfTest] ?? (test === 'error' ? '错误 / error' : test)
      if (typeof value === 'string') {
        lines.push(`  ${mark(value)} ${title}: ${words(value)}`)
      } else if (value && typeof value === 'object') {
        lines.push(`  ${Object.values(value).every((x) => x === 'ok' || String(x).startsWith('ok ')) ? '✓' : '✗'} ${title}`)
        for (const [name, v] of Object.entries(value as Record<string, unknown>)) lines.push(`      ${mark(String(v))} ${name.padEnd(18)} ${words(String(v))}`)
      }
    }
  } else if (message) {
    lines.push(`  ✗ ${message}`)
  }
  lines.push(ok ? `窗口 ${counter}：全部测试通过 / window ${counter}: all tests passed` : `窗口 ${counter}：自检未通过，见上面标 ✗ 的项目 / window ${counter}: self-test FAILED, see the lines marked ✗`)
  return lines
}

const TITLES: Record<SelfTest, string> = {
  display: '显示屏 / display',
  keys: '按键 / keys',
  triggers: '采集触发回环 / capture trigger loopback',
}

function mark(v: string): string {
  return v === 'ok' || v.startsWith('ok ') || v === 'none fitted' ? '✓' : '✗'
}

function words(v: string): string {
  if (v === 'ok') return '正常 / ok'
  if (v.startsWith('ok ')) return `正常 / ok ${v.slice(3)}`
  if (v === 'none fitted') return '未安装 / none fitted'
  if (v === 'held down') return '一直按下，可能卡住 / held down, may be stuck'
  if (v.startsWith('fault: ')) return `故障 / fault: ${v.slice(7)}`
  return v
}
