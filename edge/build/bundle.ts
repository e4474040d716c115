/**
 * `npm run build`: the CLI compiled once into dist/, for boards. The launcher
 * (edge/cli/counter-edge.mjs) compiles TypeScript through tsx at every start,
 * which costs a board about 35 MB (tsx's loader thread) and a few hundred
 * milliseconds (docs/benchmarks.md, "Edge footprint"). dist/counter-edge.js is
 * the same CLI without that: our code in one ESM file plus lazily loaded
 * chunks (`edge` never loads the hub or the simulator), every package
 * still loaded from node_modules, so native addons and their prebuilds work
 * as in a checkout. `npm pack` builds it (prepack), so a release carries it and
 * a board needs no dev dependencies.
 */
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')

export async function buildDist(outdir = join(REPO, 'dist')): Promise<{ entry: string; ms: number }> {
  const t0 = performance.now()
  await rm(outdir, { recursive: true, force: true })
  await build({
    entryPoints: { 'counter-edge': join(REPO, 'edge/cli/main.ts') },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    splitting: true,
    target: 'node20.19',
    outdir,
    // Flat, so edge/version.ts's '../package.json' resolves from every chunk as from edge/.
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
  })
  return { entry: join(outdir, 'counter-edge.js'), ms: Math.round(performance.now() - t0) }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { entry, ms } = await buildDist()
  console.log(`built ${entry} in ${ms} ms`)
}
