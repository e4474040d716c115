import { parseTopic, isEventType, isCommandName, topics, type CommandName, type ParsedTopic } from '../edge/protocol/index.ts'
import type { Principal } from './credentials.ts'

/** Commands a technician may send from the dashboard or CLI: they test a window, never serve on it. */
const TECHNICIAN_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['identify', 'self-test', 'sync'])

export type AclDecision = { ok: true } | { ok: false; reason: string }

const allow: AclDecision = { ok: true }
const deny = (reason: string): AclDecision => ({ ok: false, reason })

/**
 * Deny by default. A board is pinned to the hall and counter its credentials
 * were issued for, so a board on one window can never act as another.
 * parsed: the topic, if the caller has parsed it already (the broker parses each message's once).
 */
export function authorizePublish(p: Principal, topic: string, retain: boolean, parsed?: ParsedTopic | null): AclDecision {
  if (topic.startsWith('$')) return deny('$-topics are closed')
  const t = parsed === undefined ? parseTopic(topic) : parsed
  if (!t) return deny(`topic "${topic}" is not part of the contract`)
  if (t.hall !== p.hall) return deny(`principal of hall ${p.hall} may not publish to hall ${t.hall}`)
  switch (p.role) {
    case 'board': {
      if (t.kind === 'hub-status' || t.kind === 'hub-bridge' || t.kind === 'central-status' || t.kind === 'central-waiting' || t.kind === 'cmd') {
        return deny(`a board may not publish ${t.kind} topics`)
      }
      if (t.counter !== p.counter) return deny(`board of counter ${p.counter} may not publish as counter ${t.counter}`)
      if (t.kind === 'event') {
        if (!isEventType(t.type)) return deny(`unknown event type "${t.type}"`)
        if (retain) return deny('events are never retained')
      }
      return allow
    }
    case 'bridge':
      if (t.kind === 'cmd' || t.kind === 'central-status' || t.kind === 'central-waiting') {
        if (retain && t.kind === 'cmd') return deny('commands are never retained')
        if (t.kind === 'cmd' && !isCommandName(t.name)) return deny(`unknown command "${t.name}"`)
        return allow
      }
      return deny(`the bridge role may publish only commands, central status and waiting counts, not ${t.kind}`)
    case 'technician':
      if (t.kind === 'cmd' && isCommandName(t.name) && TECHNICIAN_COMMANDS.has(t.name)) {
        return retain ? deny('commands are never retained') : allow
      }
      return deny('a technician may send only identify, self-test and sync')
    case 'dashboard':
      return deny('the dashboard role is read-only')
  }
}

/**
 * Client ids are bound to accounts for every role, since the session (its
 * subscriptions, its queue, its will) goes with the id: whoever connects under
 * a board's id throws the board off, fires its will and takes its commands.
 * A board uses exactly its username; any other account uses its username or
 * `<username>-<suffix>`, as long as no other account owns that id (`owner`,
 * from CredentialStore.clientIdOwner). An id the hub assigned itself (the
 * client sent none, clean session on) is random and owned by no one.
 */
export function authorizeClientId(p: Principal, clientId: string, owner: string | null, assigned: boolean): AclDecision {
  if (p.role === 'board') return clientId === p.username ? allow : deny('a board must use its username as client id')
  if (assigned) return allow
  if (owner === p.username) return allow
  if (owner !== null) return deny(`client id "${clientId}" belongs to another account`)
  return deny(`client id must be "${p.username}" or "${p.username}-<suffix>"`)
}

/**
 * Every topic this principal may read lies under this prefix: a board's own
 * commands, the hall for every other role. The last gate before a message goes
 * to a client (HubBroker's authorizeForward), so a subscription that reached a
 * session store without this ACL's consent still delivers nothing it refuses.
 */
export function readPrefix(p: Principal): string | null {
  if (p.role !== 'board') return topics.hallPrefix(p.hall)
  return p.counter === null ? null : topics.counterCommandPrefix(p.hall, p.counter)
}

/** Subscriptions: a board hears only its own commands; other roles read their hall. */
export function authorizeSubscribe(p: Principal, filter: string): AclDecision {
  if (filter.startsWith('$') || filter === '#' || filter.startsWith('+')) return deny('$SYS and hall-crossing wildcards are closed')
  const levels = filter.split('/')
  if (levels[0] !== 'hall' || levels[1] !== p.hall) return deny(`may subscribe only under ${topics.hallPrefix(p.hall)}`)
  if (p.role === 'board') {
    // The credentials file refuses a board without a counter; this keeps the ACL total all the same.
    if (p.counter === null) return deny('a board without a counter may subscribe to nothing')
    const own = topics.counterCommandPrefix(p.hall, p.counter)
    if (!filter.startsWith(own)) return deny(`a board may subscribe only to ${own}+`)
    const name = filter.slice(own.length)
    if (name === '+' || isCommandName(name)) return allow
    return deny(`"${filter}" is not a command topic of this board`)
  }
  // Wildcards inside the own hall are fine for reading roles; '#' must be last per MQTT anyway.
  return allow
}
