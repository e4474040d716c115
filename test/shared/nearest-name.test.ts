import { describe, expect, it } from 'vitest'
import { didYouMean, editDistance, nearestNames } from '../../edge/shared/nearest-name.ts'

describe('nearest names', () => {
  it('counts a swapped pair of letters as one edit', () => {
    expect(editDistance('stauts', 'status')).toBe(1)
    expect(editDistance('hbu', 'hub')).toBe(1)
    expect(editDistance('uplaod', 'upload')).toBe(1)
    expect(editDistance('rpi4-ht16k3', 'rpi4-ht16k33')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('finds a swapped-letter typo whose first letters differ from the name', () => {
    expect(nearestNames('hbu', ['hall', 'hub', 'username'])).toEqual(['hub'])
    expect(nearestNames('stauts', ['status', 'sim', 'hub', 'update'])).toEqual(['status'])
  })

  it('suggests nothing for a name far from every candidate, nor a long name for a short slip', () => {
    expect(nearestNames('frobnicate', ['status', 'hub'])).toEqual([])
    expect(nearestNames('ls', ['all', 'list'])).toEqual([])
  })

  it('gives the hint in both languages, empty when nothing is near', () => {
    expect(didYouMean('bord', ['board', 'hub'], (c) => `"${c}"`)).toEqual({ zh: '，是不是 "board"？', en: ' (did you mean "board"?)' })
    expect(didYouMean('zzzz', ['board'])).toEqual({ zh: '', en: '' })
  })
})

describe('a shortened name', () => {
  it('is taken for the name it begins, before any slip of a letter', () => {
    expect(nearestNames('count', ['counter', 'hall'])).toEqual(['counter'])
    expect(nearestNames('co', ['counter'])).toEqual([])
  })
})
