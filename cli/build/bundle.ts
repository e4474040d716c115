/**
 * `npm run build`: the CLI compiled once into dist/, for boards. The launcher
 * (cli/counter-edge.mjs) compiles TypeScript through tsx at every start,
 * which costs a board about 35 MB (tsx's loader thread) and a few hundred
 * milliseconds (docs/benchmarks.md, "Edge footprint"). dist/counter-edge.js is
 * the same CLI without that: our code in one ESM file plus lazily loaded
 * chunks (`edge` never loads the hub or the simulator). The pure-JavaScript
 * packages of the board's path (mqtt, zod, pino and what they import) are
 * bundled in, minified: node then keeps one compact source instead of some
 * two hundred module files, which is about 4 MB of a board's memory. Every
 * other package (native addons and their prebuilds, the hub's, johnny-five)
 * still loads from node_modules as in a checkout. `npm pack` builds it
 * (prepack), so a release carries it and a board needs no dev dependencies.
 */
import { build, type Plugin } from 'esbuild'
import { rm } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
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

export async function buildDist(outdir = join(REPO, 'dist')): Promise<{ entry: string; ms: number }> {
  const t0 = performance.now()
  await rm(outdir, { recursive: true, force: true })
  await build({
    entryPoints: { 'counter-edge': join(REPO, 'cli/main.ts') },
    bundle: true,
    plugins: [inlineBoardPackages()],
    platform: 'node',
    format: 'esm',
    splitting: true,
    target: 'node20.19',
    outdir,
    // Flat, so edge/shared/package-root.ts finds package.json from every chunk.
    chunkNames: '[name]-[hash]',
    // Minified whole: 1.6 MB less than whitespace and syntax alone, and keeping names would cost 1 MB
    // again. Our error classes name themselves, which the logger reports as an error's type; a stack
    // trace's functions are found through the .map next to each file.
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    // The bundled CommonJS packages call require() for Node's builtins, which an ESM file has not got.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __distRequire } from 'node:module'; const require = __distRequire(import.meta.url);" },
  })
  return { entry: join(outdir, 'counter-edge.js'), ms: Math.round(performance.now() - t0) }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { entry, ms } = await buildDist()
  console.log(`built ${entry} in ${ms} ms`)
}
