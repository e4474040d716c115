/**
 * `npm run build`: the CLI compiled once into dist/, for boards. The launcher
 * (cli/counter-edge.mjs) compiles TypeScript through tsx at every start,
 * which costs a board about 35 MB (tsx's loader thread) and a few hundred
 * milliseconds (docs/benchmarks.md, "Edge footprint"). dist/counter-edge.js is
 * the same CLI without that: a small CommonJS entry (cli/dist-entry.ts) that
 * runs `edge` from the board's own bundle with its V8 code cache, and every
 * other command from cli.mjs, our code as ESM plus lazily loaded chunks
 * (`edge` never loads the hub or the simulator). The pure-JavaScript
 * packages of the board's path (mqtt, zod, pino and what they import) are
 * bundled in, minified: node then keeps one compact source instead of some
 * two hundred module files, which is about 4 MB of a board's memory. Every
 * other package (native addons and their prebuilds, the hub's, johnny-five)
 * still loads from node_modules as in a checkout. `npm pack` builds it
 * (prepack), so a release carries it and a board needs no dev dependencies.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild'
import { rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')

/** Packages our code imports on the board's path that are bundled, with everything they import. */
const INLINE = new Set(['mqtt', 'zod', 'pino'])

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

/**
 * A bare import from our code is bundled only when its package is in INLINE;
 * inside a bundled package everything it imports is bundled too (Node's
 * builtins excepted), so no half of a package is loaded twice.
 */
function inlineBoardPackages(): Plugin {
  return {
    name: 'inline-board-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point' || args.path.startsWith('node:')) return undefined
        // Ours is what lies in this package outside any node_modules (the package itself may sit in one).
        const rel = relative(REPO, args.importer)
        const ours = !rel.startsWith('..') && !rel.split(sep).includes('node_modules')
        if (!ours) return undefined
        return INLINE.has(packageName(args.path)) ? undefined : { path: args.path, external: true }
      })
    },
  }
}

/** dist/'s entry: cli/dist-entry.ts, which starts `edge` from the board bundle and every other command from cli/main.ts. */
export const DIST_ENTRY = 'counter-edge.js'

/** The entry's import of cli/main.ts is the ESM build's cli.mjs, loaded at run time, not bundled into the entry. */
function esmCli(): Plugin {
  return {
    name: 'esm-cli',
    setup(b) {
      b.onResolve({ filter: /^\.\/main\.ts$/ }, () => ({ path: './cli.mjs', external: true }))
    },
  }
}

export async function buildDist(outdir = join(REPO, 'dist')): Promise<{ entry: string; board: string; ms: number }> {
  const t0 = performance.now()
  await rm(outdir, { recursive: true, force: true })
  const common = {
    bundle: true,
    plugins: [inlineBoardPackages()],
    platform: 'node',
    target: 'node20.19',
    outdir,
    // Minified whole: 1.6 MB less than whitespace and syntax alone, and keeping names would cost 1 MB
    // again. Our error classes name themselves, which the logger reports as an error's type; a stack
    // trace's functions are found through the .map next to each file.
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  } satisfies BuildOptions
  // The board's bundle: `edge` alone, one CommonJS file, which the entry compiles through V8 with a code
  // cache of its own (cli/bundle-code-cache.ts); its name carries its content hash, which keys the cache.
  const board = await build({
    ...common,
    entryPoints: { board: join(REPO, 'cli/board-main.ts') },
    entryNames: '[name]-[hash]',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    metafile: true,
    // One file in dist/, like the ESM chunks: import.meta.url is the bundle's own (edge/shared/package-root.ts).
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: { js: "var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  })
  const boardFile = Object.keys(board.metafile.outputs).find((f) => f.endsWith('.cjs'))!
  // Every other command: cli/main.ts as ESM, its commands in lazily loaded chunks (`edge` without its code
  // cache among them). .mjs, because dist/ is a CommonJS folder (below).
  await build({
    ...common,
    entryPoints: { cli: join(REPO, 'cli/main.ts') },
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    // Flat, so edge/shared/package-root.ts finds package.json from every chunk.
    chunkNames: '[name]-[hash]',
    // The bundled CommonJS packages call require() for Node's builtins, which an ESM file has not got.
    banner: { js: "import { createRequire as __distRequire } from 'node:module'; const require = __distRequire(import.meta.url);" },
  })
  // The entry, CommonJS: a board's start then loads none of Node's ESM loader (some 20 ms of CPU under the
  // unit's flags, which make Node compile it from source) unless a command needs it.
  await build({
    ...common,
    entryPoints: { 'counter-edge': join(REPO, 'cli/dist-entry.ts') },
    format: 'cjs',
    plugins: [...common.plugins, esmCli()],
    define: { __BOARD_BUNDLE__: JSON.stringify(basename(boardFile)), 'import.meta.url': '__importMetaUrl' },
    banner: { js: "#!/usr/bin/env node\nvar __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  })
  // dist/counter-edge.js is what the units, the launcher and a release name; the package is ESM ("type": "module").
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`)
  return { entry: join(outdir, DIST_ENTRY), board: join(outdir, basename(boardFile)), ms: Math.round(performance.now() - t0) }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { entry, ms } = await buildDist()
  console.log(`built ${entry} in ${ms} ms`)
}
