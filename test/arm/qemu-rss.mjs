#!/usr/bin/env node
// The resident memory of an emulated (qemu-user) process, read on the host:
// usage: node qemu-rss.mjs PID. qemu-user maps the guest's memory into its own
// process, so the process's VmRSS is the guest's resident memory plus the
// emulator's own (its binary, its heap, and the buffer of translated code).
// smaps tells them apart: the emulator's mappings are its binary, [heap] and
// [stack], and the translation buffer (qemu maps it read-write-execute); every
// other mapping is the guest's.
import { readFileSync, readlinkSync } from 'node:fs'

const pid = process.argv[2]
const status = readFileSync(`/proc/${pid}/status`, 'utf8')
const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
const exe = readlinkSync(`/proc/${pid}/exe`)

const maps = []
let cur = null
for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
  const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line)
  if (head) {
    cur = { start: head[1], perms: head[2] === undefined ? '' : head[3], name: head[4], rssKb: 0, sizeKb: 0 }
    maps.push(cur)
    continue
  }
  const f = /^(Rss|Size):\s+(\d+) kB/.exec(line)
  if (f && cur) cur[f[1] === 'Rss' ? 'rssKb' : 'sizeKb'] = Number(f[2])
}

function owner(m) {
  if (/qemu-[a-z0-9]+-static/.test(m.name)) return 'emulator'
  if (m.name === '[heap]' || m.name === '[stack]' || m.name === '[vdso]' || m.name === '[vvar]' || m.name === '[vsyscall]') return 'emulator'
  if (m.perms.startsWith('rwx') && m.name === '') return 'emulator' // the translated-code buffer
  return 'guest'
}
const sum = { guest: 0, emulator: 0 }
let codeBuffer = 0
for (const m of maps) {
  sum[owner(m)] += m.rssKb
  if (m.perms.startsWith('rwx') && m.name === '') codeBuffer += m.rssKb
}

console.log(JSON.stringify({
  pid: Number(pid),
  interpreter: exe,
  vmRssKb: kb('VmRSS'),
  vmHwmKb: kb('VmHWM'),
  guestRssKb: sum.guest,
  emulatorRssKb: sum.emulator,
  translationBufferRssKb: codeBuffer,
  mappings: maps.length,
}, null, 2))
