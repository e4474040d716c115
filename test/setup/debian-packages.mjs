#!/usr/bin/env node
// The test suite runs real servers from Debian's packages. Where one is missing,
// install it when we are root (as CI is); otherwise stop at once with the exact
// command to run, rather than failing later with a confusing spawn error.
import { existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const NEEDED = [
  { pkg: 'mosquitto', binary: '/usr/sbin/mosquitto', why: 'the central broker in the end-to-end tests' },
  { pkg: 'redis-server', binary: '/usr/bin/redis-server', why: 'the shared store and message bus of the hub cluster tests' },
  { pkg: 'openssl', binary: '/usr/bin/openssl', why: 'throwaway certificates for the TLS tests' },
  { pkg: 'faketime', binary: '/usr/bin/faketime', why: "libfaketime, which steps a board process's wall clock in the ratings end-to-end test" },
  { pkg: 'espeak-ng', binary: '/usr/bin/espeak-ng', why: "the announcer's default voice pack" },
  { pkg: 'chromium', binary: '/usr/bin/chromium', why: 'the browser the dashboard tests drive with playwright-core' },
  { pkg: 'fonts-noto-cjk', binary: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', why: 'Chinese glyphs for the pages the browser tests render (the dashboard and the hall screen, and their screenshots in docs/screenshots/)' },
  { pkg: 'linux-libc-dev', binary: '/usr/include/linux/gpio.h', why: "the kernel's GPIO uAPI v2 header, which the chardev adapter's struct layout is checked against (compiled with cc, as the native addons are)" },
  { pkg: 'python3-paho-mqtt', binary: '/usr/lib/python3/dist-packages/paho/mqtt/client.py', why: "the Python example central client (docs/examples/central_client.py), run against a simulated hall" },
  { pkg: 'unifont', binary: '/usr/share/unifont/unifont.hex', why: "GNU Unifont's own glyph file, the reference the pixel-screen tests compare the shipped font and the screens' pixels with" },
]

const missing = NEEDED.filter((n) => !existsSync(n.binary))
if (missing.length === 0) process.exit(0)

const names = missing.map((m) => m.pkg).join(' ')
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot) {
  console.error(`The tests need Debian packages that are not installed: ${missing.map((m) => `${m.pkg} (${m.why})`).join(', ')}.`)
  console.error(`Install them with:\n\n  sudo apt-get update && sudo apt-get install -y ${names}\n`)
  process.exit(1)
}
console.error(`Installing Debian packages the tests need: ${names}`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
try {
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env })
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing.map((m) => m.pkg)], { stdio: ['ignore', 'ignore', 'inherit'], env })
} catch (err) {
  console.error(`apt-get failed (${err.message}). Install by hand: apt-get update && apt-get install -y ${names}`)
  process.exit(1)
}
const still = missing.filter((n) => !existsSync(n.binary))
if (still.length) {
  console.error(`apt-get ran but ${still.map((s) => s.binary).join(', ')} is still missing`)
  process.exit(1)
}
