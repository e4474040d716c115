import mqttPacket, { type Packet, type Parser } from 'mqtt-packet'

/**
 * Reads the MQTT stream between the hub's bridge and central (through our
 * FaultProxy's observe hook) and writes down when central's broker
 * acknowledged each message, by the message's own `id`.
 *
 * That acknowledgement is where custody passes to central (docs/architecture.md §4,
 * step 3): the bridge drops the message from its log on it. A message central
 * acknowledged and then never delivered to its consumer was lost by central's
 * broker, not by counter-edge — Mosquitto keeps what it has not yet saved in
 * memory only, so a SIGKILL loses it. Telling the two apart is what lets the
 * fault-injection proof count our losses without counting central's.
 *
 * Parsing starts with each connection's first byte, so the CONNECT packet
 * tells the parser which protocol version follows.
 */
export class CentralAckTap {
  /** Message id → when central's broker first acknowledged it (ms since the epoch). */
  readonly ackedAt = new Map<string, number>()
  /** Message ids of the QoS 1 publishes seen on their way up to central, for a test to know one has passed. */
  readonly sent = new Set<string>()
  /** Bytes the tap could not parse, by connection (a bug in the tap, never expected). */
  readonly errors: string[] = []
  private readonly connections = new Map<number, TappedConnection>()

  constructor(private readonly now: () => number = Date.now) {}

  /** FaultProxy's `observe` hook. */
  readonly observe = (connection: number, direction: 'forward' | 'back', chunk: Buffer): void => {
    let c = this.connections.get(connection)
    if (!c) {
      c = new TappedConnection(
        (id) => this.sent.add(id),
        (id) => {
          if (!this.ackedAt.has(id)) this.ackedAt.set(id, this.now())
        },
        (e) => this.errors.push(`connection ${connection}: ${e}`),
      )
      this.connections.set(connection, c)
    }
    c.feed(direction, chunk)
  }
}

/** One TCP connection: publishes going up, acknowledgements coming back, matched by packet id. */
class TappedConnection {
  private readonly up = mqttPacket.parser()
  /** Made on CONNECT, which says the protocol version the acknowledgements are in. */
  private down: Parser | null = null
  /** Packet id → message id of a QoS 1 publish not yet acknowledged on this connection. */
  private readonly pending = new Map<number, string>()

  constructor(
    private readonly onSent: (id: string) => void,
    private readonly onAck: (id: string) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.up.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') this.down = this.downParser(p.protocolVersion ?? 4)
      if (p.cmd !== 'publish' || p.qos !== 1 || p.messageId === undefined) return
      const id = messageIdOf(p.payload)
      if (!id) return
      this.pending.set(p.messageId, id)
      this.onSent(id)
    })
    this.up.on('error', (e: Error) => onError(`up: ${e.message}`))
  }

  private downParser(protocolVersion: number): Parser {
    const down = mqttPacket.parser({ protocolVersion })
    down.on('packet', (p: Packet) => {
      if (p.cmd !== 'puback' || p.messageId === undefined) return
      const id = this.pending.get(p.messageId)
      if (id === undefined) return
      this.pending.delete(p.messageId)
      this.onAck(id)
    })
    down.on('error', (e: Error) => this.onError(`down: ${e.message}`))
    return down
  }

  feed(direction: 'forward' | 'back', chunk: Buffer): void {
    if (direction === 'forward') this.up.parse(chunk)
    else if (this.down) this.down.parse(chunk)
    else this.onError('bytes from central before any CONNECT')
  }
}

function messageIdOf(payload: Buffer | string): string | null {
  try {
    const v = JSON.parse(payload.toString()) as { id?: unknown }
    return typeof v.id === 'string' ? v.id : null
  } catch {
    return null
  }
}
