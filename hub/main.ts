import { randomBytes } from 'node:crypto'
import { topics } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/log/logger.ts'
import { CredentialStore } from './credentials.ts'
import { HubBroker } from './broker.ts'
import { Bridge } from './bridge.ts'
import { HubCounters } from './hub-counters.ts'
import { VERSION } from '../edge/version.ts'

export interface HubConfig {
  hall: string
  host?: string
  /** 0 picks a free port (tests). */
  port: number
  credentialsFile: string
  upstream?: { url: string; username?: string; password?: string; clientId?: string }
}

export interface RunningHub {
  readonly port: number
  readonly broker: HubBroker
  readonly bridge: Bridge | null
  readonly counters: HubCounters
  stop(): Promise<void>
}

/** Composition root of the hall hub: credentials → broker → bridge. */
export async function startHub(config: HubConfig, log: Logger): Promise<RunningHub> {
  const boot = randomBytes(6).toString('hex')
  const hubId = `hub-${config.hall}`
  const counters = new HubCounters()
  const credentials = new CredentialStore({ path: config.credentialsFile, log: log.child({ module: 'credentials' }) })
  await credentials.start()
  const broker = new HubBroker({
    id: hubId,
    host: config.host ?? '127.0.0.1',
    port: config.port,
    credentials,
    counters,
    log: log.child({ module: 'broker' }),
  })
  try {
    await broker.start()
  } catch (err) {
    credentials.stop()
    throw err
  }
  const publishLocal = (online: boolean, reason?: string) =>
    new Promise<void>((r) =>
      broker.aedes.publish(
        {
          cmd: 'publish',
          topic: topics.hubStatus(config.hall),
          payload: Buffer.from(JSON.stringify({ online, hub: hubId, boot, version: VERSION, ts: new Date().toISOString(), ...(reason ? { reason } : {}) })),
          qos: 1,
          retain: true,
          dup: false,
        },
        () => r(),
      ),
    )
  await publishLocal(true)

  let bridge: Bridge | null = null
  if (config.upstream) {
    bridge = new Bridge({ hall: config.hall, hubId, boot, version: VERSION, aedes: broker.aedes, upstream: config.upstream, counters, log: log.child({ module: 'bridge' }) })
    await bridge.start()
  }

  let stopped = false
  return {
    port: broker.boundPort,
    broker,
    bridge,
    counters,
    async stop() {
      if (stopped) return
      stopped = true
      await publishLocal(false, 'stop')
      await bridge?.stop()
      await broker.stop()
      credentials.stop()
      log.info('hub stopped')
    },
  }
}
