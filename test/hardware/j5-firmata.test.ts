import { describe, expect, it } from 'vitest'
import { openJ5Board } from '../../edge/hardware/j5-board.ts'

/**
 * The portable window's real path (johnny-five → firmata → serialport) needs
 * an Arduino; without one, what can be checked is that a wrong port fails
 * fast with the port named, through the real libraries. (This file runs
 * without IS_TEST_MODE, as the runtime does.)
 */
describe('the Firmata path', () => {
  it('fails with the port named when the serial port does not exist', async () => {
    await expect(openJ5Board({ serialPort: '/dev/ttyNOPE0', timeoutMs: 5_000 })).rejects.toThrow(
      /johnny-five board \(Firmata on \/dev\/ttyNOPE0\): .*cannot open \/dev\/ttyNOPE0/,
    )
  })
})
