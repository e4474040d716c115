import type { MqttClient } from 'mqtt'

/**
 * Waits out the burst of retained messages the hub sends after a SUBACK.
 * MQTT marks no end to that burst, and Aedes streams it from disk after the
 * SUBACK is written, so the end is a quiet period counted from the last
 * message of the burst, not from the SUBACK: a hall of many windows on a
 * slow hub takes longer than one quiet period to send them all.
 * `counts` says which messages belong to the burst; `end()` stops early.
 */
export function retainedBurst(client: MqttClient, quietMs: number, counts: (topic: string) => boolean): { settled: Promise<void>; end(): void } {
  let timer: NodeJS.Timeout | undefined
  let resolve: () => void = () => {}
  const settled = new Promise<void>((r) => (resolve = r))
  const end = () => {
    clearTimeout(timer)
    client.off('message', onMessage)
    resolve()
  }
  const restart = () => {
    clearTimeout(timer)
    timer = setTimeout(end, quietMs)
  }
  const onMessage = (topic: string) => {
    if (counts(topic)) restart()
  }
  client.on('message', onMessage)
  restart()
  return { settled, end }
}
