import { describe, it, expect, afterEach } from 'vitest'
import { Aedes } from 'aedes'
import { register as globalRegistry } from 'prom-client'
import { HallView } from '../../hub/hall-view.ts'
import { HubCounters } from '../../hub/hub-counters.ts'
import { LogLimiter } from '../../hub/log-limiter.ts'
import { HubMetrics } from '../../hub/dashboard/metrics.ts'
import { ServiceStats } from '../../hub/dashboard/service-stats.ts'
import { LiveStreams } from '../../hub/dashboard/live-streams.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics } from '../../edge/protocol/index.ts'
import { parsePromText } from '../support/prometheus-text.ts'
import { boardEvent, credentialStoreOf, statusMessage, user } from './support/hub-fixture.ts'
import { ReleaseStore, DEFAULT_MAX_RELEASE_BYTES } from '../../hub/fleet/release-store.ts'
import { RolloutController } from '../../hub/fleet/rollout.ts'

/** One hub's metrics, built from the real parts the hub builds them from (no broker listener: aedes in process). */
async function metricsFor(hall: string, node: string | null = null, opts: { fleet?: boolean } = {}) {
  const aedes = new Aedes()
  await aedes.listen()
  const counters = new HubCounters()
  const credentials = await credentialStoreOf([user('board', hall, 'w01'), user('board', hall, 'w02')])
  const view = new HallView({ hall, aedes, counters, log: silentLogger(), provisioned: credentials.store.provisionedBoards(hall) })
  const stats = new ServiceStats({ hall, aedes })
  // Fleet updates as the hub has them: a release store (here with nowhere to keep releases) and the rollout controller.
  const releases: ReleaseStore = new ReleaseStore({ dir: null, publicKey: null, maxBytes: DEFAULT_MAX_RELEASE_BYTES, inUse: (v): boolean => rollout?.uses(v) ?? false, log: silentLogger() })
  const rollout: RolloutController | null = opts.fleet
    ? new RolloutController({ hall, aedes, hallView: view, store: releases, provisioned: () => credentials.store.provisionedBoards(hall).current(), boardAddress: () => null, httpPort: () => null, log: silentLogger() })
    : null
  const streams = new LiveStreams({ maxStreams: 4, maxPerAddress: 2, maxBufferedBytes: 65_536, lines: new LogLimiter({ log: silentLogger(), linesPerKind: 10, linesPerKey: 5, windowMs: 10_000 }) })
  const metrics = new HubMetrics({
    hall,
    aedes,
    snapshot: () => view.snapshot(),
    counters,
    stats: () => stats.all(),
    connectedClients: () => aedes.connectedClients,
    messagesIn: () => 0,
    backlog: () => 0,
    liveStreams: () => streams.stats(),
    live: { node, bridgeState: () => null, cluster: null },
    ...(rollout ? { fleet: rollout } : {}),
  })
  await view.start()
  await stats.start()
  await releases.start()
  await rollout?.start()
  await metrics.start()
  const publish = (topic: string, payload: unknown) =>
    new Promise<void>((r) => aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, () => r()))
  const stop = async () => {
    await metrics.stop()
    await rollout?.stop()
    await stats.stop()
    await view.stop()
    await credentials.stop()
    await new Promise<void>((r) => aedes.close(() => r()))
  }
  return { aedes, metrics, publish, stop, scrape: async () => parsePromText(await metrics.render()) }
}

describe('hub metrics (prom-client)', () => {
  const running: Array<{ stop: () => Promise<void> }> = []
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop()
  })

  it('two hubs in one process: each its own registry with the default collectors under its labels, the global registry untouched', async () => {
    const a = await metricsFor('hall-a')
    const b = await metricsFor('hall-b', 'n2')
    running.push(a, b)
    const [ma, mb] = [await a.scrape(), await b.scrape()]
    expect(ma.value('process_cpu_seconds_total', { hall: 'hall-a' })).toBeGreaterThan(0)
    expect(mb.value('process_cpu_seconds_total', { hall: 'hall-b', node: 'n2' })).toBeGreaterThan(0)
    expect(ma.value('counter_edge_window_online', { hall: 'hall-a', counter: 'w01' })).toBe(0)
    expect(mb.value('counter_edge_window_online', { hall: 'hall-b', node: 'n2', counter: 'w01' })).toBe(0)
    expect(ma.samples.filter((s) => s.labels.hall !== 'hall-a')).toEqual([])
    expect(mb.samples.filter((s) => s.labels.node !== 'n2')).toEqual([])
    expect(globalRegistry.getMetricsAsArray()).toEqual([])
  })

  it('fleet updates are series of the registry: each family once with its HELP and TYPE, under the hub\'s labels', async () => {
    const a = await metricsFor('hall-a', 'n2', { fleet: true })
    running.push(a)
    await a.publish(topics.status('hall-a', 'w01'), statusMessage('boot-a', 0, true))
    const text = await a.metrics.render()
    const m = parsePromText(text)
    const families = { counter_edge_updates_total: 'counter', counter_edge_rollout_state: 'gauge', counter_edge_window_version_info: 'gauge' }
    for (const [name, type] of Object.entries(families)) {
      expect(text.split('\n').filter((l) => l === `# TYPE ${name} ${type}`), name).toHaveLength(1)
      expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `)), name).toHaveLength(1)
      expect(a.metrics.registry.getSingleMetric(name), name).toBeDefined()
    }
    const l = { hall: 'hall-a', node: 'n2' }
    for (const result of ['confirmed', 'rolled-back', 'failed']) expect(m.value('counter_edge_updates_total', { ...l, result })).toBe(0)
    expect(m.value('counter_edge_rollout_state', { ...l, state: 'none', version: '' })).toBe(1)
    expect(m.value('counter_edge_rollout_state', { ...l, state: 'running', version: '' })).toBe(0)
    expect(m.help.get('counter_edge_updates_total')).toBe('Board updates ended since the hub started, by result (rolled-back: the board went back to its previous version by itself)')
    // w01 has said which version it runs; w02 never has, so it has no version to name.
    expect(m.value('counter_edge_window_version_info', { ...l, counter: 'w01', version: '0.1.0', update: 'unknown' })).toBe(1)
    expect(m.has('counter_edge_window_version_info', { counter: 'w02' })).toBe(false)
    // A hub without fleet updates has none of these series.
    const b = await metricsFor('hall-b')
    running.push(b)
    const none = await b.scrape()
    for (const name of Object.keys(families)) expect(none.types.has(name), name).toBe(false)
  })

  it("stop() ends the default collectors' event loop monitor and GC observer; start() again brings them back", async () => {
    const a = await metricsFor('hall-a')
    running.push(a)
    expect(a.metrics.collectorsRunning).toBeGreaterThanOrEqual(2)
    await a.metrics.stop()
    expect(a.metrics.collectorsRunning).toBe(0)
    expect((await a.scrape()).has('nodejs_eventloop_lag_seconds')).toBe(false)
    await a.metrics.start()
    expect(a.metrics.collectorsRunning).toBeGreaterThanOrEqual(2)
    expect((await a.scrape()).value('nodejs_eventloop_lag_seconds', { hall: 'hall-a' })).toBeGreaterThanOrEqual(0)
  })

  it('every provisioned window has its histograms at 0 from the first scrape; a replayed service event counts once', async () => {
    const a = await metricsFor('hall-a')
    running.push(a)
    const before = await a.scrape()
    for (const counter of ['w01', 'w02']) {
      for (const h of ['service_duration_seconds', 'call_wait_seconds', 'command_round_trip_seconds']) {
        expect(before.value(`counter_edge_${h}_count`, { hall: 'hall-a', counter })).toBe(0)
        expect(before.value(`counter_edge_${h}_bucket`, { hall: 'hall-a', counter, le: '+Inf' })).toBe(0)
      }
    }
    const finished = boardEvent('service-finished', 'boot-a', 7, { durationMs: 252_000 })
    await a.publish(topics.event('hall-a', 'w01', 'service-finished'), finished)
    await a.publish(topics.event('hall-a', 'w01', 'service-finished'), finished)
    const after = await a.scrape()
    const l = { hall: 'hall-a', counter: 'w01' }
    expect(after.value('counter_edge_service_duration_seconds_count', l)).toBe(1)
    expect(after.value('counter_edge_service_duration_seconds_sum', l)).toBe(252)
    expect(after.value('counter_edge_service_duration_seconds_bucket', { ...l, le: '300' })).toBe(1)
    expect(after.value('counter_edge_service_duration_seconds_bucket', { ...l, le: '120' })).toBe(0)
    expect(after.value('counter_edge_services_total', { ...l, outcome: 'served' })).toBe(1)
    expect(after.value('counter_edge_service_duration_seconds_count', { hall: 'hall-a', counter: 'w02' })).toBe(0)
  })

  it("a transfer ends the window's part of the service: counted as transferred, with its time, once however often it comes", async () => {
    // Central transfers with the transfer command (docs/integration.md, "Transfer"): the hall had eight
    // service-transferred at central and counter_edge_services_total{outcome="transferred"} 0 on the hub.
    const a = await metricsFor('hall-a')
    running.push(a)
    const transferred = boardEvent('service-transferred', 'boot-a', 9, { durationMs: 184_000 })
    await a.publish(topics.event('hall-a', 'w01', 'service-transferred'), transferred)
    await a.publish(topics.event('hall-a', 'w01', 'service-transferred'), transferred)
    const after = await a.scrape()
    const l = { hall: 'hall-a', counter: 'w01' }
    expect(after.value('counter_edge_services_total', { ...l, outcome: 'transferred' })).toBe(1)
    expect(after.value('counter_edge_services_total', { ...l, outcome: 'served' })).toBe(0)
    expect(after.value('counter_edge_service_duration_seconds_count', l)).toBe(1)
    expect(after.value('counter_edge_service_duration_seconds_sum', l)).toBe(184)
  })
})
