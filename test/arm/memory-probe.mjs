// Preloaded into the edge runtime by .ci/arm (`node --import`): on SIGUSR2 it
// writes process.memoryUsage() and the process's own list of its mappings
// (/proc/self/maps) to $COUNTER_EDGE_MEMORY_FILE, so the memory of a running,
// online runtime can be read from outside without changing the runtime. Under
// qemu-user, /proc/self/maps lists the guest's mappings only (qemu emulates
// it), which lets the host tell the runtime's memory from the emulator's.
import { readFileSync, writeFileSync } from 'node:fs'

const file = process.env.COUNTER_EDGE_MEMORY_FILE
if (file) {
  process.on('SIGUSR2', () => {
    let maps = ''
    try {
      maps = readFileSync('/proc/self/maps', 'utf8')
    } catch {}
    writeFileSync(file, JSON.stringify({ ...process.memoryUsage(), arch: process.arch, node: process.version, uptimeS: Math.round(process.uptime()), maps }))
  })
}
