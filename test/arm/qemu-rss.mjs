#!/usr/bin/env node
// The resident memory of an emulated (qemu-user) process, read on the host:
//   node qemu-rss.mjs PID [GUEST_MEMORY_JSON]
// qemu-user maps the guest's memory into its own process, so the process's
// VmRSS is the guest's resident memory plus the emulator's own (its binary, its
// heap, the buffer of translated code, its page tables). The guest's list of
// its own mappings (written by memory-probe.mjs from the guest's
// /proc/self/maps, which qemu emulates with guest addresses) tells them apart:
// a host mapping is the guest's when it lies in one of the guest's ranges
// (shifted by qemu's guest base, found from where the guest's node binary is).
import { readFileSync, readlinkSync } from 'node:fs'

const [pid, guestFile] = process.argv.slice(2)
const status = readFileSync(`/proc/${pid}/status`, 'utf8')
const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)

function parseMaps(text, withRss) {
  const maps = []
  let cur = null
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \S+\s*(.*)$/.exec(line)
    if (head) {
      cur = { start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], offset: BigInt(`0x${head[4]}`), name: head[5], rssKb: 0 }
      maps.push(cur)
      continue
    }
    const f = withRss && /^Rss:\s+(\d+) kB/.exec(line)
    if (f && cur) cur.rssKb = Number(f[1])
  }
  return maps
}

const host = parseMaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'), true)
const out = { pid: Number(pid), interpreter: readlinkSync(`/proc/${pid}/exe`), vmRssKb: kb('VmRSS'), vmHwmKb: kb('VmHWM') }

if (guestFile) {
  const guest = parseMaps(JSON.parse(readFileSync(guestFile, 'utf8')).maps ?? '', false)
  // The guest base: where the guest's executable (its first file mapping) is in
  // the host's view, under the root's path, less where the guest sees it.
  const gNode = guest.find((m) => m.name.startsWith('/') && m.offset === 0n)
  const hNode = gNode && host.find((m) => m.offset === 0n && m.name.length > gNode.name.length && m.name.endsWith(gNode.name))
  if (gNode && hNode) {
    const base = hNode.start - gNode.start
    const ranges = guest.map((m) => [m.start + base, m.end + base])
    const inGuest = (m) => ranges.some(([s, e]) => m.start >= s && m.start < e)
    let guestKb = 0
    for (const m of host) if (inGuest(m)) guestKb += m.rssKb
    out.guestBase = `0x${base.toString(16)}`
    out.guestMappings = guest.length
    out.guestRssKb = guestKb
    out.emulatorRssKb = out.vmRssKb - guestKb
  } else {
    out.error = `could not find the guest's executable (${gNode?.name}) in the host's view`
  }
}
console.log(JSON.stringify(out, null, 2))
