import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The installed package's folder (where package.json and boards/ are), found
 * from this file outwards: the code runs from edge/ in a checkout and from
 * dist/ (or a build folder below the package) when bundled.
 */
function findRoot(): { root: string; version: string; node: string } {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir)
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string; engines?: { node?: string } }
      if (pkg.name === 'counter-edge' && pkg.version) return { root: dir, version: pkg.version, node: pkg.engines?.node ?? '' }
    } catch {
      // not at this level
    }
  }
  throw new Error(`cannot find counter-edge's package.json above ${fileURLToPath(import.meta.url)}`)
}

const found = findRoot()
export const PACKAGE_ROOT: string = found.root
export const PACKAGE_VERSION: string = found.version
/** package.json's engines.node, e.g. ">=20.19". */
export const PACKAGE_NODE_RANGE: string = found.node
/** The board profiles shipped with the package (boards/*.json). */
export const BOARDS_DIR: string = join(PACKAGE_ROOT, 'boards')
