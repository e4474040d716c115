import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { idSchema } from '../protocol/index.ts'
import { createLogger } from '../log/logger.ts'
import { startHub, type HubConfig } from '../../hub/main.ts'
import { UsageError, type Subcommand } from './subcommand.ts'

const hubFileSchema = z.strictObject({
  hall: idSchema,
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(1883),
  credentialsFile: z.string(),
  upstream: z.strictObject({ url: z.string(), username: z.string().optional(), password: z.string().optional(), clientId: z.string().optional() }).optional(),
})

export const hubCommand: Subcommand = {
  name: 'hub',
  summary: 'run the in-hall hub (MQTT broker with authentication, ACL and bridge to central)',
  usage: 'counter-edge hub --config hub.json | --hall hall-1 --credentials creds.json [--upstream mqtt://central:1883]',
  options: {
    config: { type: 'string', description: 'JSON file: {hall, host, port, credentialsFile, upstream: {url, username, password}}' },
    hall: { type: 'string', description: 'hall id' },
    host: { type: 'string', default: '0.0.0.0', description: 'address to listen on' },
    port: { type: 'string', default: '1883', description: 'MQTT port' },
    credentials: { type: 'string', description: 'credentials file (see `counter-edge provision`)' },
    upstream: { type: 'string', description: 'central broker, e.g. mqtt://central.example:1883 (password from COUNTER_EDGE_UPSTREAM_PASSWORD)' },
    'upstream-username': { type: 'string', description: 'username at the central broker' },
  },
  async run(v) {
    let config: HubConfig
    if (v.config) {
      const text = await readFile(v.config as string, 'utf8').catch((e: Error) => {
        throw new UsageError(`cannot read --config ${v.config}: ${e.message}`)
      })
      const parsed = hubFileSchema.safeParse(JSON.parse(text))
      if (!parsed.success) {
        const i = parsed.error.issues[0]!
        throw new UsageError(`${v.config}: ${i.path.join('.')}: ${i.message}`)
      }
      config = parsed.data
    } else {
      if (!v.hall || !v.credentials) throw new UsageError('give --config, or --hall and --credentials')
      const port = Number(v.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not "${v.port}"`)
      config = { hall: v.hall as string, host: v.host as string, port, credentialsFile: v.credentials as string }
      if (v.upstream) {
        config.upstream = { url: v.upstream as string, username: v['upstream-username'] as string | undefined, password: process.env.COUNTER_EDGE_UPSTREAM_PASSWORD }
      }
    }
    const log = createLogger({ name: 'hub' })
    const hub = await startHub(config, log)
    return () => hub.stop()
  },
}
