import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { nodeTooOld } from '../../cli/node-version.ts'
import { PACKAGE_NODE_RANGE } from '../../edge/shared/package-root.ts'

describe('the Node.js version check before a command loads', () => {
  it('takes its range from package.json engines', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
    expect(PACKAGE_NODE_RANGE).toBe(pkg.engines.node)
    expect(nodeTooOld()).toBeNull()
  })

  it('refuses an older Node with what is needed and how to get it', () => {
    const msg = nodeTooOld('>=20.19', '20.11.0')
    expect(msg).toMatch(/needs Node\.js 20\.19\.0 or later/)
    expect(msg).toMatch(/this is Node\.js 20\.11\.0/)
    expect(msg).toMatch(/apt install nodejs/)
    expect(nodeTooOld('>=20.19', '18.20.4')).toMatch(/needs Node\.js 20\.19/)
  })

  it('accepts the same or a newer Node, and a range it cannot read', () => {
    expect(nodeTooOld('>=20.19', '20.19.0')).toBeNull()
    expect(nodeTooOld('>=20.19', '20.20.2')).toBeNull()
    expect(nodeTooOld('>=20.19', '22.1.0')).toBeNull()
    expect(nodeTooOld('^20 || ^22', '20.11.0')).toBeNull()
  })
})
