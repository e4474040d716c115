import type { EventDraft } from './events.ts'
import { TOPIC_TABLE, type ReplyFields, type ScreenFields, type StateFields, type StatusFields, type TelemetryFields, type UpdateFields } from './messages.ts'
import { topics, type TopicKind } from './topics.ts'

/**
 * What a board publishes, by topic kind: the fields its producer supplies,
 * each the topic's schema type without the envelope (the link stamps that).
 * An event's fields carry its `type`, which picks the topic's last level.
 */
export interface BoardFields {
  status: StatusFields
  state: StateFields
  screen: ScreenFields
  telemetry: TelemetryFields
  reply: ReplyFields
  update: UpdateFields
  event: EventDraft
}

export type BoardTopicKind = keyof BoardFields

/** The kinds a board publishes, in table order; a test holds them equal to the `from-board` rows of TOPIC_TABLE. */
export const BOARD_TOPIC_KINDS = ['status', 'state', 'screen', 'event', 'telemetry', 'reply', 'update'] as const satisfies readonly (BoardTopicKind & TopicKind)[]

const TOPIC_OF: { readonly [K in BoardTopicKind]: (hall: string, counter: string, fields: BoardFields[K]) => string } = {
  status: (hall, counter) => topics.status(hall, counter),
  state: (hall, counter) => topics.state(hall, counter),
  screen: (hall, counter) => topics.screen(hall, counter),
  event: (hall, counter, fields) => topics.event(hall, counter, fields.type),
  telemetry: (hall, counter) => topics.telemetry(hall, counter),
  reply: (hall, counter) => topics.reply(hall, counter),
  update: (hall, counter) => topics.update(hall, counter),
}

/** The topic a board message goes to, built by the contract's own builders (which refuse bad ids). */
export function boardTopic<K extends BoardTopicKind>(hall: string, counter: string, kind: K, fields: BoardFields[K]): string {
  return TOPIC_OF[kind](hall, counter, fields)
}

/** QoS and retain of a board topic, from the one table of topics. */
export function boardDelivery(kind: BoardTopicKind): { qos: 0 | 1; retain: boolean } {
  const spec = TOPIC_TABLE[kind]
  return { qos: spec.qos, retain: spec.retain }
}
