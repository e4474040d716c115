/**
 * Error codes are part of the wire contract: central branches on them, so a
 * code is never renamed or reused for a different meaning within a version.
 */
export const ERROR_CODES = [
  'bad-json',
  'bad-payload',
  'bad-topic',
  'unknown-command',
  'expired',
  'wrong-mode',
  'wrong-ticket',
  'busy',
  'not-ready',
  'device-fault',
  'unsupported',
  'too-large',
  'internal',
  'limit-reached',
  'unknown-counter',
  'qos-required',
  'retained-refused',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

export const errorCodeDescriptions: Record<ErrorCode, string> = {
  'bad-json': 'The payload is not a UTF-8 JSON object.',
  'bad-payload': 'The payload is JSON but does not match the schema of its topic; the message names the fields.',
  'bad-topic': 'The topic is not part of the contract (wrong depth, invalid id, unknown event type).',
  'unknown-command': 'The command name in the topic is not one this contract version defines.',
  'expired': 'The command arrived after its `expires` time; it was refused and not acted on. Sent by the hall\'s hub for a command held for an offline board whose `expires` had passed by the hub\'s clock when the board came back.',
  'wrong-mode': 'The window is not in a mode where the command makes sense (e.g. `start` while idle).',
  'wrong-ticket': 'The command names a ticket other than the one the window is handling.',
  'busy': 'The device or window is doing something that must finish first (e.g. a capture in progress).',
  'not-ready': 'The board is still starting, or a device it needs has not come up.',
  'device-fault': 'A device the command needs is faulty or absent.',
  'unsupported': 'This board has no device or capability for the command (e.g. no fingerprint scanner, or a called ticket its display cannot show).',
  'too-large': 'The payload exceeds a contract limit: 16 KiB, or objects and arrays nested more than 32 levels deep.',
  'internal': 'An unexpected error on the board; the command may not have been acted on.',
  'limit-reached': 'The window\'s limit for the command is used up (e.g. `recallLimit` recalls of one call); the message says what to do instead (e.g. send no-show).',
  'unknown-counter': 'Sent by the hall\'s hub: no board of this hall holds a session for the counter in the topic (never provisioned, or never connected), so the command would reach no one; it was not delivered.',
  'qos-required': 'Sent by the hall\'s hub: the command came at QoS 0; commands are QoS 1. It was not delivered; send it again at QoS 1.',
  'retained-refused': 'Sent by the hall\'s hub: the command came with the retain flag (a retained copy at the central broker); it was not delivered, and the hub cleared the retained copy.',
}

