import { connect } from 'node:net'
import mqtt, { MqttClient, type IClientOptions } from 'mqtt'
import { canConnect } from '../../support/ports.ts'


/**
 * A plain mqtt.js client with TCP_NODELAY, as every client in the benches is:
 * with Nagle on, one QoS 1 round trip on loopback takes tens of ms.
 */
export function connectPlain(port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(
    () => {
      const s = connect({ host: '127.0.0.1', port })
      s.setNoDelay(true)
      return s
    },
    { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 60_000, keepalive: 60, ...opts },
  )
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      client.end(true)
      reject(err)
    }
    client.once('connect', () => {
      client.off('error', fail)
      client.on('error', () => {})
      resolve(client)
    })
    client.once('error', fail)
  })
}

export { mqtt }

export { canConnect }
