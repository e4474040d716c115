/**
 * The CLI bundled with esbuild, as a build script could ship it: one ESM
 * entry with code splitting, so `counter-edge edge` still loads only what the
 * edge path needs (the hub, the simulator and johnny-five stay in chunks it
 * never imports). Native addons stay outside the bundle. Built into .tmp/ for
 * the footprint bench; nothing in the runtime changes.
 */
import { build, type Metafile, type Plugin } from 'esbuild'
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO } from './bench-hub.ts'

export interface EdgeBundle {
  /** node <entry> edge --config … */
  entry: string
  /** Bytes of bundled code the edge command loads, by package or project folder, largest first. */
  edgeBytesByPackage: Array<{ name: string; kb: number }>
  edgeKb: number
  buildMs: number
}

/** Native addons (and what only the hub or tests use) load from node_modules at run time. */
const EXTERNAL = ['onoff', 'i2c-bus', 'johnny-five', 'serialport', 'classic-level', 'level', 'playwright-core', 'epoll']

/**
 * What a board never loads if the bundle is trimmed: mqtt.js's WebSocket and
 * SOCKS transports (a board connects over mqtt:// or mqtts:// only) and
 * pino-pretty (journald takes JSON; logger.ts imports it unconditionally).
 * A stub that throws when used makes a wrong guess loud rather than silent.
 */
export const TRIM = ['ws', 'socks', 'pino-pretty']

function stubs(names: string[]): Plugin {
  const filter = new RegExp(`^(${names.join('|')})$`)
  return {
    name: 'bench-stubs',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'bench-stub' }))
      b.onLoad({ filter: /.*/, namespace: 'bench-stub' }, (args) => ({
        contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not in this trimmed bundle`)}) }; module.exports = new Proxy(fail, { get: (_t, k) => (k === '__esModule' ? false : k === 'default' ? fail : undefined) })`,
        loader: 'js',
      }))
    },
  }
}

export async function buildEdgeBundle(root: string, opts: { minify?: boolean; trim?: boolean } = {}): Promise<EdgeBundle> {
  await rm(root, { recursive: true, force: true })
  await mkdir(root, { recursive: true })
  // edge/shared/package-root.ts finds package.json from the code outwards.
  await copyFile(join(REPO, 'package.json'), join(root, 'package.json'))
  const outdir = join(root, 'out')
  const t0 = performance.now()
  const result = await build({
    entryPoints: [join(REPO, 'cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    target: 'node20',
    outdir,
    metafile: true,
    minify: Boolean(opts.minify),
    logLevel: 'silent',
    external: EXTERNAL,
    plugins: opts.trim ? [stubs(TRIM)] : [],
    // CommonJS packages inside an ESM bundle still call require() for Node's builtins.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  })
  const buildMs = performance.now() - t0
  const meta = result.metafile
  const entry = join(outdir, 'main.js')
  const loaded = edgeChunks(meta, entry)
  const byName = new Map<string, number>()
  for (const chunk of loaded) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[chunk]!.inputs)) {
      const name = packageOf(input)
      byName.set(name, (byName.get(name) ?? 0) + bytesInOutput)
    }
  }
  const list = [...byName.entries()].sort((a, b) => b[1] - a[1]).map(([name, b]) => ({ name, kb: Math.round(b / 102.4) / 10 }))
  return { entry, edgeBytesByPackage: list, edgeKb: Math.round(list.reduce((a, x) => a + x.kb, 0)), buildMs: Math.round(buildMs) }
}

/** Output chunks `counter-edge edge` with a simulated board loads: static imports of the entry, the edge command and the simulated hardware. */
function edgeChunks(meta: Metafile, entry: string): string[] {
  const outputs = meta.outputs
  const key = (abs: string) => Object.keys(outputs).find((k) => abs.endsWith(k) || join(REPO, k) === abs || k === abs)!
  const seen = new Set<string>()
  const visit = (k: string, followDynamic: (entryPoint: string | undefined) => boolean) => {
    if (seen.has(k)) return
    seen.add(k)
    for (const imp of outputs[k]!.imports) {
      if (imp.external) continue
      if (imp.kind === 'import-statement') visit(imp.path, followDynamic)
      else if (imp.kind === 'dynamic-import' && followDynamic(outputs[imp.path]?.entryPoint)) visit(imp.path, followDynamic)
    }
  }
  visit(key(entry), (ep) => ep === 'cli/edge-command.ts' || ep === 'sim/window-hardware.ts')
  return [...seen]
}

function packageOf(input: string): string {
  const nm = input.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const parts = input.slice(nm + 'node_modules/'.length).split('/')
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  const parts = input.split('/')
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!
}
