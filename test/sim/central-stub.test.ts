/** The central queue stub over a long run: what it remembers is bounded, so a simulated hall left running for days does not grow. */
import { afterEach, describe, expect, it } from 'vitest'
import { messageExamples, topics } from '../../edge/protocol/index.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { CentralBroker } from '../../sim/central-broker.ts'
import { CentralStub } from '../../sim/central-stub.ts'
import { Probe, eventually } from '../support/probe.ts'

let broker: CentralBroker | null = null
let stub: CentralStub | null = null
let central: Probe | null = null
afterEach(async () => {
  await central?.close()
  await stub?.stop()
  await broker?.stop()
  central = stub = broker = null
})

describe('the central stub', () => {
  it('keeps the newest replies and forgets the oldest ids: a copy is dropped while remembered, an id long gone counts again', async () => {
    broker = new CentralBroker({ host: '127.0.0.1', port: 0, log: silentLogger() })
    await broker.start()
    // No tick would act on a window: none is online, so nothing is called.
    stub = new CentralStub({ hall: 'h1', url: broker.url, log: silentLogger(), seenKept: 30, kept: 20 })
    await stub.start()
    central = await Probe.connect(broker.url, [])
    const reply = (n: number, name = 'call') => central!.publish(topics.reply('h1', 'w01'), { ...messageExamples.reply, id: `w01-r-${n}`, seq: n, cmd: `q-${n}`, name })
    const until = async (name: string) => eventually(() => stub!.replies.at(-1)?.name === name, 5_000, `the stub took the ${name} reply`)

    await reply(0)
    await reply(0, 'start')
    await reply(1, 'finish')
    await until('finish')
    // The copy of reply 0 was dropped by its id: it did not become a 'start'.
    expect(stub.replies.map((r) => r.name)).toEqual(['call', 'finish'])

    for (let n = 2; n < 40; n++) await reply(n)
    await reply(40, 'pause')
    await until('pause')
    expect(stub.replies).toHaveLength(20)
    // 41 ids since reply 0, 30 remembered: reply 0 again is taken as new.
    await reply(0, 'resume')
    await until('resume')
  })
})
