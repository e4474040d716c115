#!/usr/bin/env node
// The size of an installed project (a board install, `npm ci --omit=dev`), and
// how much of it a board actually needs. Usage: node install-size.mjs DIR
//
// The project has one dependency list for the board, the hub and the simulator,
// so a board install carries the hub's too. Each installed package is put in
// the first group whose top-level dependencies reach it:
//   board     what the edge runtime imports (edge/): mqtt, zod, pino, pino-pretty,
//             onoff, i2c-bus, and tsx, which loads the TypeScript sources
//   firmata   johnny-five and its serialport: only the Firmata kit profile needs them
//   hub       what only the hub and the simulator import: aedes, its persistence, level, ws
import { readFileSync, readdirSync, lstatSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const GROUPS = {
  board: ['mqtt', 'zod', 'pino', 'pino-pretty', 'onoff', 'i2c-bus', 'tsx'],
  firmata: ['johnny-five'],
  hub: ['aedes', 'aedes-persistence', 'aedes-persistence-level', 'level', 'ws'],
}

const dir = process.argv[2]
if (!dir) {
  console.error('usage: install-size.mjs DIR')
  process.exit(2)
}

// esbuild hard-links its binary into its own package: count a linked file once.
const seenInodes = new Set()
function sizeOf(path, skipNodeModules, inodes = seenInodes) {
  let bytes = 0
  let disk = 0
  let files = 0
  const walk = (p, top) => {
    const st = lstatSync(p)
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`
      if (inodes.has(id)) return
      inodes.add(id)
    }
    bytes += st.size
    disk += st.blocks * 512
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) {
        if (top && skipNodeModules && e === 'node_modules') continue
        walk(join(p, e), false)
      }
    } else files++
  }
  walk(path, true)
  return { bytes, disk, files }
}

const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
const installed = new Map()
for (const [key, meta] of Object.entries(lock.packages)) {
  if (!key || !existsSync(join(dir, key, 'package.json'))) continue
  installed.set(key, { meta, ...sizeOf(join(dir, key), true) })
}

// npm's lookup: KEY/node_modules/NAME, then up the tree, then node_modules/NAME.
function resolve(fromKey, name) {
  let base = fromKey
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`
    if (installed.has(candidate)) return candidate
    if (!base) return null
    const i = base.lastIndexOf('/node_modules/')
    base = i < 0 ? '' : base.slice(0, i)
  }
}

function closure(names) {
  const seen = new Set()
  const stack = names.map((n) => resolve('', n)).filter(Boolean)
  while (stack.length) {
    const k = stack.pop()
    if (seen.has(k)) continue
    seen.add(k)
    const m = installed.get(k).meta
    for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies })) {
      const r = resolve(k, dep)
      if (r) stack.push(r)
    }
  }
  return seen
}

const groupOf = new Map()
for (const [group, names] of Object.entries(GROUPS)) for (const k of closure(names)) if (!groupOf.has(k)) groupOf.set(k, group)
const declared = Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {})
const unassigned = declared.filter((d) => !Object.values(GROUPS).flat().includes(d))

const total = existsSync(join(dir, 'node_modules')) ? sizeOf(join(dir, 'node_modules'), false, new Set()) : { bytes: 0, disk: 0, files: 0 }
const groups = {}
for (const [k, v] of installed) {
  const g = groupOf.get(k) ?? 'other'
  groups[g] ??= { packages: 0, bytes: 0, disk: 0 }
  groups[g].packages++
  groups[g].bytes += v.bytes
  groups[g].disk += v.disk
}
const largest = [...installed].sort((a, b) => b[1].disk - a[1].disk).slice(0, 10).map(([k, v]) => ({ package: k.replace(/^.*node_modules\//, ''), disk: v.disk, group: groupOf.get(k) ?? 'other' }))

console.log(JSON.stringify({ nodeModules: { packages: installed.size, ...total }, groups, unassignedDependencies: unassigned, largest }, null, 2))
