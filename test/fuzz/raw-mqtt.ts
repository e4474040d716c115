import { connect, type Socket } from 'node:net'

/**
 * A raw MQTT 3.1.1 client, for what mqtt.js refuses to send: topics with
 * wildcards, NUL or invalid UTF-8, any flags. It encodes CONNECT and PUBLISH
 * itself and reads only what it needs (CONNACK, PUBACK, the socket closing).
 */

function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}

function str(b: Buffer | string): Buffer {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
}

export function connectPacket(o: { clientId: string; username: string; password: string; clean?: boolean; keepalive?: number }): Buffer {
  const flags = 0x80 | 0x40 | (o.clean === false ? 0 : 0x02)
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, o.keepalive ?? 60]), str(o.clientId), str(o.username), str(o.password)])
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body])
}

export function publishPacket(o: { topic: Buffer | string; payload: Buffer | string; qos: 0 | 1; retain?: boolean; messageId?: number }): Buffer {
  const head = 0x30 | (o.qos << 1) | (o.retain ? 1 : 0)
  const id = o.qos > 0 ? Buffer.from([(o.messageId ?? 1) >> 8, (o.messageId ?? 1) & 0xff]) : Buffer.alloc(0)
  const payload = typeof o.payload === 'string' ? Buffer.from(o.payload, 'utf8') : o.payload
  const body = Buffer.concat([str(o.topic), id, payload])
  return Buffer.concat([Buffer.from([head]), varint(body.length), body])
}

export type PublishOutcome = 'acked' | 'closed' | 'sent' | 'timeout'

export class RawClient {
  private buffer = Buffer.alloc(0)
  private closed = false
  private waiters: Array<() => void> = []
  private nextId = 1

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true)
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d])
      this.wake()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  private async until<T>(check: () => T | undefined, ms: number): Promise<T | undefined> {
    const end = Date.now() + ms
    for (;;) {
      const v = check()
      if (v !== undefined) return v
      const left = end - Date.now()
      if (left <= 0) return undefined
      // Woken by the next bytes or the close; the deadline only bounds the wait.
      await new Promise<void>((wake) => {
        const deadline = setTimeout(() => wake(), left)
        this.waiters.push(() => {
          clearTimeout(deadline)
          wake()
        })
      })
    }
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Connects and logs in; resolves with the client once CONNACK 0 came, rejects otherwise. */
  static async connect(port: number, login: { clientId: string; username: string; password: string }): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    const c = new RawClient(socket)
    socket.write(connectPacket(login))
    const code = await c.until(() => (c.buffer.length >= 4 ? c.buffer[3]! : c.closed ? -1 : undefined), 10_000)
    if (code !== 0) {
      socket.destroy()
      throw new Error(`CONNACK ${code ?? 'timeout'}`)
    }
    c.buffer = c.buffer.subarray(4)
    return c
  }

  /** Sends a PUBLISH; at QoS 1 waits for its PUBACK or the connection to close; at QoS 0 for a moment, in case it closes. */
  async publish(o: { topic: Buffer | string; payload: Buffer | string; qos: 0 | 1; retain?: boolean }, waitMs = 5_000): Promise<PublishOutcome> {
    if (this.closed) return 'closed'
    const messageId = this.nextId++ % 65_535 || 1
    this.socket.write(publishPacket({ ...o, messageId }))
    if (o.qos === 0) {
      await this.until(() => (this.closed ? true : undefined), 30)
      return this.closed ? 'closed' : 'sent'
    }
    const r = await this.until(() => {
      // PUBACK: 0x40 0x02 id-hi id-lo
      for (let i = 0; i + 3 < this.buffer.length; i++) {
        if (this.buffer[i] === 0x40 && this.buffer[i + 1] === 0x02 && this.buffer.readUInt16BE(i + 2) === messageId) {
          this.buffer = this.buffer.subarray(i + 4)
          return 'acked' as const
        }
      }
      return this.closed ? ('closed' as const) : undefined
    }, waitMs)
    return r ?? 'timeout'
  }

  close(): void {
    this.socket.destroy()
  }
}
