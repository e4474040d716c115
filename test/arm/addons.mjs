#!/usr/bin/env node
// Run inside an ARM root, in a board install: loads every native addon the
// install has and prints, as JSON, whether it loaded, from which file, and the
// machine that file was built for (read from its ELF header). Exits 1 when an
// installed addon does not load. esbuild (tsx's compiler, a native executable,
// not an addon) is checked too: without it the runtime cannot load its sources.
import { createRequire } from 'node:module'
import { existsSync, openSync, readSync, closeSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const cwd = process.cwd()
const require = createRequire(join(cwd, 'package.json'))

const ELF_MACHINES = { 0x03: 'x86', 0x28: 'arm', 0x3e: 'x86-64', 0xb7: 'aarch64' }
function elfMachine(file) {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(20)
    readSync(fd, b, 0, 20, 0)
    if (b.readUInt32BE(0) !== 0x7f454c46) return 'not ELF'
    const m = b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18)
    return ELF_MACHINES[m] ?? `machine 0x${m.toString(16)}`
  } finally {
    closeSync(fd)
  }
}

function pkgDir(name) {
  try {
    return dirname(require.resolve(`${name}/package.json`))
  } catch {
    return null
  }
}

function nodeFilesUnder(dir) {
  const out = []
  const walk = (d) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.node')) out.push(p)
    }
  }
  walk(dir)
  return out
}

/** Which .node file a package loads: node-gyp-build's choice, or build/Release for `bindings` users. */
function loadedFrom(name, dir) {
  if (name === 'classic-level') {
    const ngb = createRequire(join(dir, 'package.json'))('node-gyp-build')
    return ngb.path(dir)
  }
  return nodeFilesUnder(join(dir, 'build', 'Release'))[0] ?? null
}

const ADDONS = {
  // onoff's interrupt-driven GPIO, and the chardev adapter's wait for edge events
  epoll: (m) => typeof m.Epoll === 'function',
  // the chardev adapter's bare ioctl (packages/gpio-ioctl), compiled on install
  '@counter-edge/gpio-ioctl': (m) => typeof m.ioctl === 'function',
  'i2c-bus': (m) => typeof m.openSync === 'function',
  // LevelDB, the hub's sessions and custody log (installed with the hub's dependencies)
  'classic-level': (m) => typeof m.ClassicLevel === 'function',
  // johnny-five's serial port to a Firmata board
  '@serialport/bindings': (m) => typeof m === 'function' || typeof m === 'object',
}

const result = { arch: process.arch, node: process.version, addons: {} }
let failed = false
for (const [name, check] of Object.entries(ADDONS)) {
  const dir = pkgDir(name)
  if (!dir) {
    result.addons[name] = { installed: false }
    continue
  }
  const entry = { installed: true, version: require(`${name}/package.json`).version }
  try {
    const m = require(name)
    if (!check(m)) throw new Error('loaded, but its exports are not what the runtime uses')
    const file = loadedFrom(name, dir)
    entry.loaded = true
    if (file) {
      entry.from = relative(cwd, file)
      entry.machine = elfMachine(file)
      entry.built = file.includes('/prebuilds/') ? 'prebuilt (shipped in the package)' : 'compiled on install'
    }
  } catch (err) {
    entry.loaded = false
    entry.error = String(err?.message ?? err).split('\n')[0]
    failed = true
  }
  result.addons[name] = entry
}

// onoff itself, on top of epoll.
try {
  const { Gpio } = require('onoff')
  result.addons.onoff = { installed: true, loaded: typeof Gpio === 'function', accessible: Gpio.accessible }
} catch (err) {
  result.addons.onoff = { installed: Boolean(pkgDir('onoff')), loaded: false, error: String(err?.message ?? err).split('\n')[0] }
  failed = true
}

// esbuild: tsx compiles the TypeScript sources with it on load.
try {
  const esbuild = require(createRequire(require.resolve('tsx/package.json')).resolve('esbuild'))
  const out = esbuild.transformSync('const n: number = 1; export default n', { loader: 'ts', format: 'esm' })
  result.addons.esbuild = { installed: true, loaded: out.code.includes('const n = 1'), version: esbuild.version, binary: esbuild.version && elfFromEsbuild() }
} catch (err) {
  result.addons.esbuild = { installed: false, loaded: false, error: String(err?.message ?? err).split('\n')[0] }
  failed = true
}

function elfFromEsbuild() {
  for (const p of ['@esbuild/linux-arm64', '@esbuild/linux-arm']) {
    try {
      const dir = dirname(createRequire(require.resolve('esbuild/package.json')).resolve(`${p}/package.json`))
      return { package: p, machine: elfMachine(join(dir, 'bin', 'esbuild')) }
    } catch {}
  }
  return null
}

console.log(JSON.stringify(result, null, 2))
process.exit(failed ? 1 : 0)
