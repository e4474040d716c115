import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

describe('SimWindowHardware', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('wires every profile line and puts the display model at its address', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    expect(hw.gpio.lineNames().sort()).toEqual([
      'dissatisfied', 'evaluator-lamp', 'fingerprint-done', 'fingerprint-trigger', 'neutral', 'nvr-relay',
      'officer-call-next', 'officer-help', 'officer-no-show', 'officer-pause', 'officer-recall',
      'photo-done', 'photo-trigger', 'satisfied', 'status-lamp',
    ])
    expect(await hw.bus.scan()).toEqual([0x70])
    expect(hw.view()).toMatchObject({ lit: false, text: '' })
  })

  it('presses keys as wired: an active-low key pulls its pin low while down', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    expect(hw.gpio.level('neutral')).toBe(1)
    const done = hw.press('neutral', { holdMs: 100 })
    expect(hw.gpio.level('neutral')).toBe(0)
    await vi.advanceTimersByTimeAsync(100)
    await done
    expect(hw.gpio.level('neutral')).toBe(1)
    hw.setKey('satisfied', true)
    expect(hw.gpio.isActive('satisfied')).toBe(true)
  })

  it('refuses a key the board does not have', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    expect(() => hw.press('very-satisfied')).toThrow(/no key 'very-satisfied'/)
    expect(() => hw.setKey('very-dissatisfied', true)).toThrow(/no key 'very-dissatisfied'/)
  })

  it('makes the display fail and heal on request', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    hw.displayFault('absent')
    await expect(hw.bus.sendByte(0x70, 0x21)).rejects.toMatchObject({ errno: 121 })
    hw.displayFault('none')
    await hw.bus.sendByte(0x70, 0x21)
    expect(hw.ht16k33?.osc).toBe(true)
  })
})
