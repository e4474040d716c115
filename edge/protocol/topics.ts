import { isCommandName, type CommandName } from './commands.ts'
import { isEventType, type EventType } from './events.ts'
import { ID_PATTERN } from './ids.ts'

/**
 * Topic names are the same on the hub and upstream so the bridge copies them
 * verbatim; builders refuse bad ids because a topic built from one would either
 * escape the board's ACL or be silently dropped by it.
 */

export type CounterTopicKind = 'status' | 'state' | 'screen' | 'telemetry' | 'reply' | 'update'
export type HallTopicKind = 'hub-status' | 'hub-bridge' | 'central-status' | 'central-waiting'
export type TopicKind = CounterTopicKind | 'event' | 'cmd' | HallTopicKind

/** One member per kind (not `kind: A | B`), so excluding kinds one by one narrows. */
export type ParsedTopic =
  | { [K in CounterTopicKind]: { kind: K; hall: string; counter: string } }[CounterTopicKind]
  | { kind: 'event'; hall: string; counter: string; type: string }
  | { kind: 'cmd'; hall: string; counter: string; name: string }
  | { [K in HallTopicKind]: { kind: K; hall: string } }[HallTopicKind]

/** Unknown event types and command names must still parse, so the board can reply `unknown-command`. */
const MAX_NAME_LEVEL = 64

function checkId(what: 'hall' | 'counter', value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new TypeError(`invalid ${what} id ${JSON.stringify(value)}: expected 1–32 characters a–z, 0–9, '-', not starting with '-'`)
  }
  return value
}

function counterBase(hall: string, counter: string): string {
  return `hall/${checkId('hall', hall)}/counter/${checkId('counter', counter)}`
}

function hallBase(hall: string): string {
  return `hall/${checkId('hall', hall)}`
}

export const topics = {
  status: (hall: string, counter: string): string => `${counterBase(hall, counter)}/status`,
  state: (hall: string, counter: string): string => `${counterBase(hall, counter)}/state`,
  screen: (hall: string, counter: string): string => `${counterBase(hall, counter)}/screen`,
  event: (hall: string, counter: string, type: EventType): string => {
    if (!isEventType(type)) throw new TypeError(`unknown event type ${JSON.stringify(type)}`)
    return `${counterBase(hall, counter)}/event/${type}`
  },
  telemetry: (hall: string, counter: string): string => `${counterBase(hall, counter)}/telemetry`,
  cmd: (hall: string, counter: string, name: CommandName): string => {
    if (!isCommandName(name)) throw new TypeError(`unknown command ${JSON.stringify(name)}`)
    return `${counterBase(hall, counter)}/cmd/${name}`
  },
  reply: (hall: string, counter: string): string => `${counterBase(hall, counter)}/reply`,
  /** Where the board is in taking a release (the hub's rollout watches it). */
  update: (hall: string, counter: string): string => `${counterBase(hall, counter)}/update`,
  hubStatus: (hall: string): string => `${hallBase(hall)}/hub/status`,
  hubBridge: (hall: string): string => `${hallBase(hall)}/hub/bridge`,
  centralStatus: (hall: string): string => `${hallBase(hall)}/central/status`,
  /** Central's waiting counts per service, for the hall's screens. */
  centralWaiting: (hall: string): string => `${hallBase(hall)}/central/waiting`,

  /** What a board subscribes to: its own commands and nothing else. */
  counterCommands: (hall: string, counter: string): string => `${counterBase(hall, counter)}/cmd/+`,
  counterAll: (hall: string, counter: string): string => `${counterBase(hall, counter)}/#`,
  hallCounters: (hall: string): string => `${hallBase(hall)}/counter/#`,
  /** Everything in one hall: the hall view follows boards, hub and central alike. */
  hallTree: (hall: string): string => `${hallBase(hall)}/#`,
  hallStatuses: (hall: string): string => `${hallBase(hall)}/counter/+/status`,
  hallStates: (hall: string): string => `${hallBase(hall)}/counter/+/state`,
  hallScreens: (hall: string): string => `${hallBase(hall)}/counter/+/screen`,
  hallEvents: (hall: string): string => `${hallBase(hall)}/counter/+/event/+`,
  hallTelemetry: (hall: string): string => `${hallBase(hall)}/counter/+/telemetry`,
  hallReplies: (hall: string): string => `${hallBase(hall)}/counter/+/reply`,
  hallUpdates: (hall: string): string => `${hallBase(hall)}/counter/+/update`,
  /** Central's commands to every window of the hall, as the bridge takes them from upstream. */
  hallCommands: (hall: string): string => `${hallBase(hall)}/counter/+/cmd/+`,

  /** Under `hallPrefix` lies every topic of the hall (the ACL's subscribe check). */
  hallPrefix: (hall: string): string => `${hallBase(hall)}/`,
  /** Under `counterPrefix` lies every topic of one window, its commands included. */
  counterPrefix: (hall: string, counter: string): string => `${counterBase(hall, counter)}/`,
  /** Under `counterCommandPrefix` lies every command topic of one window. */
  counterCommandPrefix: (hall: string, counter: string): string => `${counterBase(hall, counter)}/cmd/`,
  allCommands: 'hall/+/counter/+/cmd/+',
  allBoard: 'hall/+/counter/#',
} as const

const COUNTER_LEAVES: ReadonlySet<string> = new Set<CounterTopicKind>(['status', 'state', 'screen', 'telemetry', 'reply', 'update'])

function isNameLevel(level: string): boolean {
  return level.length > 0 && level.length <= MAX_NAME_LEVEL && !/[+#\u0000]/.test(level)
}

/**
 * The last level of a topic (for an event, its type): a cheap look for a follower that passes over
 * most messages, before the full parse of the few it keeps, never instead of it.
 */
export function lastLevel(topic: string): string {
  return topic.slice(topic.lastIndexOf('/') + 1)
}

/**
 * The inverse of the builders. Anything that is not exactly a contract topic —
 * wrong depth, invalid id, empty level, wildcard — is null, so callers have one
 * check before trusting the hall and counter in it.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  const levels = topic.split('/')
  const [root, hall, section, counter, leaf, name] = levels
  if (root !== 'hall' || hall === undefined || !ID_PATTERN.test(hall)) return null

  if (levels.length === 4) {
    if (section === 'hub' && counter === 'status') return { kind: 'hub-status', hall }
    if (section === 'hub' && counter === 'bridge') return { kind: 'hub-bridge', hall }
    if (section === 'central' && counter === 'status') return { kind: 'central-status', hall }
    if (section === 'central' && counter === 'waiting') return { kind: 'central-waiting', hall }
    return null
  }

  if (section !== 'counter' || counter === undefined || !ID_PATTERN.test(counter) || leaf === undefined) return null

  if (levels.length === 5) {
    return COUNTER_LEAVES.has(leaf) ? ({ kind: leaf as CounterTopicKind, hall, counter } as ParsedTopic) : null
  }

  if (levels.length === 6 && name !== undefined && isNameLevel(name)) {
    if (leaf === 'event') return { kind: 'event', hall, counter, type: name }
    if (leaf === 'cmd') return { kind: 'cmd', hall, counter, name }
  }
  return null
}
