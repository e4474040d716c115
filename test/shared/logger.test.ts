import { describe, it, expect } from 'vitest'
import { PassThrough } from 'node:stream'
import { createLogger } from '../../edge/shared/logger.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (d: Buffer) => (text += d.toString()))
  return { stream, lines: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }
}

describe('createLogger', () => {
  it("reports an error's type by the name its class gives itself, which minification cannot mangle", () => {
    const out = capture()
    const log = createLogger({ name: 'test', pretty: false, destination: out.stream })
    // What esbuild's minifier makes of `class DeviceFault`: a class whose constructor name is one letter.
    const Mangled = { e: class extends DeviceFault {} }.e
    Object.defineProperty(Mangled, 'name', { value: 'e' })
    log.error({ err: new Mangled('display', 'absent', 'no answer at 0x70') }, 'display fault')
    class Plain extends Error {}
    log.error({ err: new Plain('plain') }, 'plain')
    const [fault, plain] = out.lines()
    expect(fault!.err).toMatchObject({ type: 'DeviceFault', message: 'no answer at 0x70' })
    expect(plain!.err).toMatchObject({ type: 'Plain', message: 'plain' })
  })

  it('redacts passwords at the root', () => {
    const out = capture()
    const log = createLogger({ name: 'test', pretty: false, destination: out.stream })
    log.info({ options: { username: 'hall-1-w01', password: 'secret-pw' } }, 'connecting')
    expect(JSON.stringify(out.lines()[0])).not.toContain('secret-pw')
  })
})
