import { describe, it, expect } from 'vitest'
import { MessageParses } from '../../hub/message-parses.ts'
import { parseMessage, parseTopic } from '../../edge/protocol/index.ts'
import { boardEvent } from './support/hub-fixture.ts'

const topic = 'hall/h1/counter/w01/event/called'

describe('message parses shared on the hub path', () => {
  it('answers the same payload object once, and a copy of it by parsing again', () => {
    const parses = new MessageParses()
    const payload = Buffer.from(JSON.stringify(boardEvent('called', 'boot-a', 2)))
    const first = parses.parse(topic, payload)
    expect(first.ok).toBe(true)
    expect(parses.parse(topic, payload)).toBe(first)
    const again = parses.parse(topic, Buffer.from(payload))
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
  })

  it('judges a payload under another topic afresh: a quarantined message goes on under a topic no contract names', () => {
    const parses = new MessageParses()
    const payload = Buffer.from(JSON.stringify(boardEvent('called', 'boot-a', 2)))
    expect(parses.parse(topic, payload).ok).toBe(true)
    const moved = parses.parse(`$quarantined/${topic}`, payload)
    expect(moved).toMatchObject({ ok: false, code: 'bad-topic' })
  })

  it('keeps a refusal as a refusal', () => {
    const parses = new MessageParses()
    const payload = Buffer.from('{"type":"called"}')
    const first = parses.parse(topic, payload)
    expect(first.ok).toBe(false)
    expect(parses.parse(topic, payload)).toBe(first)
  })

  it('answers with the topic its caller parsed as it would have parsed it, and a topic outside the contract as one', () => {
    const payload = Buffer.from(JSON.stringify(boardEvent('called', 'boot-a', 2)))
    for (const t of [topic, 'hall/h1/counter/w01/state', 'hall/h1/counter/w01/event/no-such', 'hall/h1/counter/W01/event/called', 'hall/h1/hub/status']) {
      expect(new MessageParses().parse(t, payload, parseTopic(t))).toEqual(parseMessage(t, payload))
      expect(new MessageParses().parse(t, payload.toString('utf8'), parseTopic(t))).toEqual(parseMessage(t, payload))
    }
    expect(new MessageParses().parse(topic, payload, null)).toMatchObject({ ok: false, code: 'bad-topic' })
  })
})
