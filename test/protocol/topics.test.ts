import { describe, expect, it } from 'vitest'
import { COMMAND_NAMES, EVENT_TYPES, parseTopic, topics, type CommandName, type EventType, type ParsedTopic } from '../../edge/protocol/index.ts'

const BAD_IDS = ['', 'A1', 'w 1', '-w1', 'w_1', 'w/1', 'w+', '#', 'x'.repeat(33), 'wé']
const GOOD_IDS = ['a', '0', 'w05', 'gz-tianhe', 'a-', 'x'.repeat(32)]

describe('topic builders', () => {
  it('build the contract topics', () => {
    expect(topics.status('h1', 'w05')).toBe('hall/h1/counter/w05/status')
    expect(topics.state('h1', 'w05')).toBe('hall/h1/counter/w05/state')
    expect(topics.event('h1', 'w05', 'evaluated')).toBe('hall/h1/counter/w05/event/evaluated')
    expect(topics.telemetry('h1', 'w05')).toBe('hall/h1/counter/w05/telemetry')
    expect(topics.cmd('h1', 'w05', 'self-test')).toBe('hall/h1/counter/w05/cmd/self-test')
    expect(topics.reply('h1', 'w05')).toBe('hall/h1/counter/w05/reply')
    expect(topics.hubStatus('h1')).toBe('hall/h1/hub/status')
    expect(topics.hubBridge('h1')).toBe('hall/h1/hub/bridge')
    expect(topics.centralStatus('h1')).toBe('hall/h1/central/status')
    expect(topics.centralWaiting('h1')).toBe('hall/h1/central/waiting')
  })

  it('build the subscription filters', () => {
    expect(topics.counterCommands('h1', 'w05')).toBe('hall/h1/counter/w05/cmd/+')
    expect(topics.counterAll('h1', 'w05')).toBe('hall/h1/counter/w05/#')
    expect(topics.hallCounters('h1')).toBe('hall/h1/counter/#')
    expect(topics.allCommands).toBe('hall/+/counter/+/cmd/+')
    expect(topics.allBoard).toBe('hall/+/counter/#')
    expect(topics.hallTree('h1')).toBe('hall/h1/#')
    expect(topics.hallStatuses('h1')).toBe('hall/h1/counter/+/status')
    expect(topics.hallStates('h1')).toBe('hall/h1/counter/+/state')
    expect(topics.hallEvents('h1')).toBe('hall/h1/counter/+/event/+')
    expect(topics.hallTelemetry('h1')).toBe('hall/h1/counter/+/telemetry')
    expect(topics.hallReplies('h1')).toBe('hall/h1/counter/+/reply')
    expect(topics.hallCommands('h1')).toBe('hall/h1/counter/+/cmd/+')
  })

  it('build the prefixes the hub checks topics against', () => {
    expect(topics.hallPrefix('h1')).toBe('hall/h1/')
    expect(topics.counterPrefix('h1', 'w05')).toBe('hall/h1/counter/w05/')
    expect(topics.counterCommandPrefix('h1', 'w05')).toBe('hall/h1/counter/w05/cmd/')
  })

  it('accept every valid id', () => {
    for (const id of GOOD_IDS) expect(topics.state(id, id)).toBe(`hall/${id}/counter/${id}/state`)
  })

  it('throw on an invalid hall or counter id, naming which', () => {
    for (const id of BAD_IDS) {
      expect(() => topics.state(id, 'w1'), id).toThrow(/invalid hall id/)
      expect(() => topics.status('h1', id), id).toThrow(/invalid counter id/)
      expect(() => topics.counterCommands('h1', id), id).toThrow(TypeError)
      expect(() => topics.hubStatus(id), id).toThrow(/invalid hall id/)
      expect(() => topics.hallCounters(id), id).toThrow(TypeError)
      for (const hallFilter of [topics.hallTree, topics.hallStatuses, topics.hallStates, topics.hallEvents, topics.hallTelemetry, topics.hallReplies, topics.hallCommands, topics.hallPrefix]) {
        expect(() => hallFilter(id), id).toThrow(/invalid hall id/)
      }
      expect(() => topics.counterPrefix('h1', id), id).toThrow(/invalid counter id/)
      expect(() => topics.counterCommandPrefix(id, 'w1'), id).toThrow(/invalid hall id/)
    }
  })

  it('throw on an unknown event type or command name', () => {
    expect(() => topics.event('h1', 'w1', 'exploded' as EventType)).toThrow(/unknown event type/)
    expect(() => topics.cmd('h1', 'w1', '+' as CommandName)).toThrow(/unknown command/)
  })
})

describe('parseTopic', () => {
  it('round-trips every builder', () => {
    const cases: Array<[string, ParsedTopic]> = [
      [topics.status('h1', 'w05'), { kind: 'status', hall: 'h1', counter: 'w05' }],
      [topics.state('h1', 'w05'), { kind: 'state', hall: 'h1', counter: 'w05' }],
      [topics.telemetry('h1', 'w05'), { kind: 'telemetry', hall: 'h1', counter: 'w05' }],
      [topics.reply('h1', 'w05'), { kind: 'reply', hall: 'h1', counter: 'w05' }],
      [topics.hubStatus('h1'), { kind: 'hub-status', hall: 'h1' }],
      [topics.hubBridge('h1'), { kind: 'hub-bridge', hall: 'h1' }],
      [topics.centralStatus('h1'), { kind: 'central-status', hall: 'h1' }],
      [topics.centralWaiting('h1'), { kind: 'central-waiting', hall: 'h1' }],
      ...EVENT_TYPES.map((type): [string, ParsedTopic] => [topics.event('h1', 'w05', type), { kind: 'event', hall: 'h1', counter: 'w05', type }]),
      ...COMMAND_NAMES.map((name): [string, ParsedTopic] => [topics.cmd('h1', 'w05', name), { kind: 'cmd', hall: 'h1', counter: 'w05', name }]),
    ]
    for (const [topic, parsed] of cases) expect(parseTopic(topic), topic).toEqual(parsed)
  })

  it('returns unknown event types and command names raw, for the caller to refuse', () => {
    expect(parseTopic('hall/h1/counter/w1/event/Exploded')).toEqual({ kind: 'event', hall: 'h1', counter: 'w1', type: 'Exploded' })
    expect(parseTopic('hall/h1/counter/w1/cmd/reboot')).toEqual({ kind: 'cmd', hall: 'h1', counter: 'w1', name: 'reboot' })
  })

  it('returns null for anything that is not exactly a contract topic', () => {
    const bad = [
      '',
      '/',
      'hall',
      'hall/h1',
      'hall/h1/counter',
      'hall/h1/counter/w1',
      'hall/h1/counter/w1/',
      'hall/h1/counter/w1/state/',
      '/hall/h1/counter/w1/state',
      'hall//counter/w1/state',
      'hall/h1/counter//state',
      'hall/h1/counter/w1/event',
      'hall/h1/counter/w1/event/',
      'hall/h1/counter/w1/cmd/',
      'hall/h1/counter/w1/event/called/extra',
      'hall/h1/counter/w1/status/extra',
      'hall/h1/counter/w1/journal',
      'hall/h1/counter/w1/cmd/+',
      'hall/h1/counter/w1/cmd/#',
      'hall/h1/counter/w1/event/call+ed',
      'hall/+/counter/w1/state',
      'hall/h1/counter/+/state',
      'hall/#',
      'hall/h1/counter/#',
      'hall/H1/counter/w1/state',
      'hall/h1/counter/W1/state',
      'hall/h1/counter/w_1/state',
      `hall/${'x'.repeat(33)}/counter/w1/state`,
      'Hall/h1/counter/w1/state',
      'halls/h1/counter/w1/state',
      'hall/h1/counters/w1/state',
      'hall/h1/hub/other',
      'hall/h1/hub/status/extra',
      'hall/h1/central/bridge',
      'hall/h1/hub',
      `hall/h1/counter/w1/cmd/${'x'.repeat(65)}`,
      'hall/h1/counter/w1/event/a\u0000b',
      '$SYS/broker/clients',
    ]
    for (const topic of bad) expect(parseTopic(topic), JSON.stringify(topic)).toBeNull()
  })

  it('rejects every invalid id in either position', () => {
    for (const id of BAD_IDS) {
      if (id.includes('/')) continue
      expect(parseTopic(`hall/${id}/counter/w1/state`), id).toBeNull()
      expect(parseTopic(`hall/h1/counter/${id}/state`), id).toBeNull()
      expect(parseTopic(`hall/${id}/hub/status`), id).toBeNull()
    }
  })
})
