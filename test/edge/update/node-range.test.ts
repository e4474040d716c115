import { describe, expect, it } from 'vitest'
import { satisfiesNodeRange } from '../../../edge/update/node-range.ts'

describe('Node.js range of a release', () => {
  it('reads what engines fields hold', () => {
    expect(satisfiesNodeRange('>=20.19', '20.19.0')).toBe(true)
    expect(satisfiesNodeRange('>=20.19', '20.18.3')).toBe(false)
    expect(satisfiesNodeRange('>=20.19 <23', '22.1.0')).toBe(true)
    expect(satisfiesNodeRange('>=20.19 <23', '23.0.0')).toBe(false)
    expect(satisfiesNodeRange('^20.19.0 || >=22', '21.0.0')).toBe(false)
    expect(satisfiesNodeRange('^20.19.0 || >=22', '22.3.0')).toBe(true)
    expect(satisfiesNodeRange('~20.19', '20.20.0')).toBe(false)
    expect(satisfiesNodeRange('>= 20', 'v20.1.0')).toBe(true)
  })

  it('says it cannot read a range rather than guessing', () => {
    expect(satisfiesNodeRange('lts/iron', '20.19.0')).toBeNull()
    expect(satisfiesNodeRange('', '20.19.0')).toBeNull()
  })
})
