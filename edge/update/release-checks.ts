import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ErrorCode, ReleaseManifest } from '../protocol/index.ts'
import { verifySignedManifest } from '../shared/release-signature.ts'
import type { BoardRoot } from './board-root.ts'
import { satisfiesNodeRange } from './node-range.ts'

export type ReleaseCheck = { ok: true; manifest: ReleaseManifest } | { ok: false; code: ErrorCode; reason: string }

/**
 * Everything a board can check about a release before it downloads a byte:
 * the signature against the hall's key on this board (not the hub's word),
 * then whether this board can run it at all. Each refusal says what to do.
 */
export async function checkRelease(o: { signed: unknown; root: BoardRoot; running: string; node?: string }): Promise<ReleaseCheck> {
  let key: Buffer
  try {
    key = await readFile(o.root.publicKey)
  } catch (err) {
    return { ok: false, code: 'unsupported', reason: `本板没有大厅发布公钥 / no hall release key on this board (${o.root.publicKey}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); copy it there with counter-edge install` }
  }
  const checked = verifySignedManifest(o.signed, key)
  if (!checked.ok) return { ok: false, code: 'bad-payload', reason: `发布包签名不符，拒绝 / release refused: ${checked.reason}` }
  const m = checked.manifest
  if (m.version === o.running) return { ok: false, code: 'bad-payload', reason: `版本 ${m.version} 已在运行 / version ${m.version} is already running` }
  const node = o.node ?? process.versions.node
  const fits = satisfiesNodeRange(m.node, node)
  if (fits !== true) {
    return { ok: false, code: 'unsupported', reason: fits === null ? `无法识别所需 Node.js 版本 / release ${m.version} asks for Node.js "${m.node}", which this board cannot read` : `本板 Node.js 版本不符 / release ${m.version} needs Node.js ${m.node}; this board has ${node}` }
  }
  const differ: string[] = []
  for (const [pkg, want] of Object.entries(m.native)) {
    let have = 'none'
    try {
      have = (JSON.parse(await readFile(join(o.root.nodeModules, pkg, 'package.json'), 'utf8')) as { version: string }).version
    } catch {
      // not installed: reported below
    }
    if (have !== want) differ.push(`${pkg} ${want} (board has ${have})`)
  }
  if (differ.length) return { ok: false, code: 'unsupported', reason: `须先运行 counter-edge install 更新原生包 / release ${m.version} needs \`counter-edge install\` of ${differ.join(', ')}`.slice(0, 480) }
  return { ok: true, manifest: m }
}
