// Preloaded into the edge runtime by .ci/arm (`node --import`): on SIGUSR2 it
// writes process.memoryUsage() to $COUNTER_EDGE_MEMORY_FILE, so the memory of a
// running, online runtime can be read from outside without changing it.
import { writeFileSync } from 'node:fs'

const file = process.env.COUNTER_EDGE_MEMORY_FILE
if (file) {
  process.on('SIGUSR2', () => {
    writeFileSync(file, JSON.stringify({ ...process.memoryUsage(), arch: process.arch, node: process.version, uptimeS: Math.round(process.uptime()) }))
  })
}
