/**
 * What it costs the hub to put one MQTT packet on a socket. Aedes writes
 * every packet with mqtt-packet's writeToStream, which writes a packet in
 * several chunks and corks the stream so they leave in one writev. The hub
 * hands Aedes not the socket but hub/frame-guard.ts guardedStream(). That was
 * a Duplex.from({ readable, writable: socket }) whose writable side passed each
 * chunk to socket.write() one by one, uncorked: every chunk became its own
 * write(2) and, with TCP_NODELAY, its own TCP segment. Its _writev now hands
 * a corked batch to the socket at once; this bench keeps it that way.
 *
 * This bench writes the same packets through both and counts what reaches the
 * socket's handle (one _writeGeneric call = one syscall) and the CPU spent.
 * It only imports guardedStream.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { guardedStream } from '../../hub/frame-guard.ts'
import { TurnWrites } from '../../edge/shared/turn-writes.ts'
import { round, sleep } from './support/stats.ts'

export interface WritePathOptions {
  packets: number
  log: (line: string) => void
}

export interface WritePathCase {
  path: 'socket (corked by mqtt-packet)' | 'hub guardedStream'
  /** PUBLISH + PUBACK pairs written per event-loop turn: 1 is a lone call to a board, 100 a busy hub. */
  perTurn: number
  /** Writes reaching the socket handle (syscalls) per packet. */
  writesPerPacket: number
  /** Reads the receiving socket saw per packet (TCP segments arriving separately). */
  readsPerPacket: number
  cpuUsPerPacket: number
}

export interface WritePathResult {
  cases: WritePathCase[]
}

const PAYLOAD = Buffer.alloc(208, 0x61)

async function once(guarded: boolean, perTurn: number, packets: number): Promise<WritePathCase> {
  let writes = 0
  let reads = 0
  let server: Server | null = null
  let client: Socket | null = null
  try {
    const serverSide = await new Promise<Socket>((resolve) => {
      server = createServer((s) => {
        s.setNoDelay(true)
        resolve(s)
      })
      server.listen(0, '127.0.0.1', () => {
        const a = server!.address()
        client = connect(typeof a === 'object' && a ? a.port : 0, '127.0.0.1')
        client.setNoDelay(true)
        client.on('data', () => reads++)
      })
    })
    const handle = serverSide as Socket & { _writeGeneric: (...args: unknown[]) => unknown }
    const original = handle._writeGeneric.bind(handle)
    handle._writeGeneric = (...args: unknown[]) => {
      writes++
      return original(...args)
    }
    const out: Duplex = guarded ? guardedStream(serverSide, 64 * 1024, () => {}, new TurnWrites()) : serverSide
    await sleep(50)
    reads = 0
    const c0 = process.cpuUsage()
    let sent = 0
    // A PUBLISH to a subscriber and a PUBACK to a publisher: what the hub writes per board message.
    while (sent < packets) {
      for (let k = 0; k < perTurn && sent < packets; k++, sent += 2) {
        const messageId = (sent % 60_000) + 1
        mqttPacket.writeToStream({ cmd: 'publish', topic: 'hall/bench-w/counter/w0001/cmd/call', payload: PAYLOAD, qos: 1, messageId, retain: false, dup: false }, out)
        mqttPacket.writeToStream({ cmd: 'puback', messageId }, out)
      }
      await new Promise((r) => setImmediate(r))
    }
    const c = process.cpuUsage(c0)
    await sleep(100)
    return {
      path: guarded ? 'hub guardedStream' : 'socket (corked by mqtt-packet)',
      perTurn,
      writesPerPacket: round(writes / packets, 2),
      readsPerPacket: round(reads / packets, 3),
      cpuUsPerPacket: round((c.user + c.system) / packets, 1),
    }
  } finally {
    ;(client as Socket | null)?.destroy()
    ;(server as Server | null)?.close()
  }
}

export async function runWritePath(o: WritePathOptions): Promise<WritePathResult> {
  const cases: WritePathCase[] = []
  for (const perTurn of [1, 100]) {
    for (const guarded of [false, true]) {
      const c = await once(guarded, perTurn, o.packets)
      cases.push(c)
      o.log(`write path, ${c.path}, ${perTurn}/turn: ${c.writesPerPacket} writes/packet, ${c.readsPerPacket} reads/packet, ${c.cpuUsPerPacket} µs CPU/packet`)
    }
  }
  return { cases }
}
