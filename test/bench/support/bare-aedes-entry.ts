/**
 * The least a hall hub on Aedes can be, as a yardstick for ours: Aedes with
 * its in-memory persistence, no login, no ACL, no schema check, nothing on
 * disk, no dashboard, and a bridge of a dozen lines (central's commands in at
 * QoS 1, the hall's events out at QoS 1). Whatever this costs against
 * Mosquitto is Node, Aedes and mqtt.js, not anything counter-edge adds.
 *
 * argv: central port, listen port, hall. Prints "ready" once it listens and
 * the bridge is subscribed.
 */
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import type { IPublishPacket } from 'mqtt'
import { topics } from '../../../edge/protocol/topics.ts'
import { connectPlain } from './net.ts'

const [centralPort, port] = process.argv.slice(2, 4).map(Number) as [number, number]
const hall = process.argv[4]!

const aedes = await Aedes.createBroker()
const server = createServer((socket) => {
  socket.setNoDelay(true)
  aedes.handle(socket)
})
await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))

// Like the hub's bridge: a persistent session at central, TCP_NODELAY (support/net.ts).
const central = await connectPlain(centralPort, { clientId: `bare-aedes-${process.pid}`, clean: false })
// Down: handed into the hall, then acknowledged to central.
central.handleMessage = (packet, done) => {
  const p = packet as IPublishPacket
  aedes.publish({ cmd: 'publish', topic: p.topic, payload: p.payload as Buffer, qos: 1, retain: false, dup: false }, () => done())
}
// Up: every board event to central at QoS 1; the hall's broker takes the next one meanwhile.
aedes.subscribe(
  topics.hallEvents(hall),
  (packet, done) => {
    if (!central.disconnecting) central.publish(packet.topic, packet.payload as Buffer, { qos: 1 })
    done()
  },
  () => {},
)
await central.subscribeAsync(topics.hallCommands(hall), { qos: 1 })
process.stdout.write('ready\n')
process.on('SIGTERM', () => {
  aedes.close(() => {
    central.end(true)
    server.close(() => process.exit(0))
  })
})
