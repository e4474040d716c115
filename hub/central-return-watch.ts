import { connect, type Socket } from 'node:net'
import { backoffDelay } from '../edge/shared/backoff.ts'
import type { BrokerAddress } from '../edge/shared/mqtt-connect.ts'

/** Connect errors that mean nothing answered at central's address: there is no broker (yet) to back off from. */
export const UNANSWERED_CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'])

export interface CentralReturnWatchOptions {
  address: BrokerAddress
  /** Between knocks: a random time between half and all of it. */
  everyMs: number
  random: () => number
  /** Called once, at the first knock central's port answers. */
  onAnswer: () => void
}

/**
 * While the bridge waits out its reconnect backoff (up to half a minute) and
 * central's port refused the last attempt, knocks on that port with a bare
 * TCP connect every second or so, and says so the moment it answers: the
 * bridge then connects at once, and the backlog drains within seconds of
 * central's return instead of after the rest of the backoff (issue 23).
 *
 * A knock is one SYN, answered by central's kernel with a reset while its
 * broker is down; only the first accepted one is a whole handshake, closed
 * at once, before any TLS or MQTT. It is armed only after a refused connect,
 * never after a broker that accepted the connection and then failed it (a
 * CONNACK refusal, a dead backend behind a load balancer): there the port
 * answers all along, and the backoff must keep the bridge from hammering it.
 */
export class CentralReturnWatch {
  private timer: NodeJS.Timeout | null = null
  private socket: Socket | null = null
  private done = false

  constructor(private readonly opts: CentralReturnWatchOptions) {}

  start(): void {
    this.schedule()
  }

  private schedule(): void {
    if (this.done) return
    const { everyMs, random } = this.opts
    this.timer = setTimeout(() => {
      this.timer = null
      this.knock()
    }, backoffDelay(0, everyMs, everyMs, random))
  }

  private knock(): void {
    if (this.done) return
    const { host, port } = this.opts.address
    const s = connect({ host, port })
    this.socket = s
    s.setNoDelay(true)
    // A knock that gets no answer at all (packets dropped) is given up, and the next one tried.
    s.setTimeout(Math.max(1_000, this.opts.everyMs * 2), () => s.destroy())
    s.once('connect', () => {
      s.destroy()
      if (this.done) return
      this.done = true
      this.opts.onAnswer()
    })
    s.on('error', () => undefined)
    s.once('close', () => {
      if (this.socket === s) this.socket = null
      this.schedule()
    })
  }

  stop(): void {
    this.done = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.socket?.destroy()
    this.socket = null
  }
}
