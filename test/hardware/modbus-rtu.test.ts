import { describe, expect, it } from 'vitest'
import {
  crc16,
  crcOk,
  expectedResponseLength,
  frameHex,
  packBits,
  parseResponse,
  readBitsRequest,
  unpackBits,
  withCrc,
  writeMultipleCoilsRequest,
  writeSingleCoilRequest,
} from '../../edge/hardware/modbus-rtu.ts'

const bytes = (hex: string) => Buffer.from(hex.replace(/ /g, ''), 'hex')

describe('Modbus RTU framing', () => {
  it('computes CRC-16/MODBUS: the catalogue check value and the serial-line spec example', () => {
    // CRC catalogue (reveng) check value of "123456789" for CRC-16/MODBUS.
    expect(crc16(Buffer.from('123456789'))).toBe(0x4b37)
    // Modbus over serial line spec, CRC generation example: 02 07 → low 0x41 first, then 0x12.
    expect(frameHex(withCrc(Uint8Array.of(0x02, 0x07)))).toBe('02 07 41 12')
    // The spec's read holding registers example as printed in module manuals.
    expect(frameHex(withCrc(bytes('01 03 00 00 00 0a')))).toBe('01 03 00 00 00 0a c5 cd')
  })

  it('builds the requests DI/DO module manuals print', () => {
    expect(frameHex(readBitsRequest(1, 0x02, 0, 8))).toBe('01 02 00 00 00 08 79 cc')
    expect(frameHex(readBitsRequest(1, 0x01, 0, 8))).toBe('01 01 00 00 00 08 3d cc')
    expect(frameHex(writeSingleCoilRequest(1, 0, true))).toBe('01 05 00 00 ff 00 8c 3a')
    expect(frameHex(writeSingleCoilRequest(1, 0, false))).toBe('01 05 00 00 00 00 cd ca')
    // The application protocol spec's 0x0F example: 10 coils from 20 (0-based 19), bits CD 01.
    const req = writeMultipleCoilsRequest(0x11, 19, [1, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    expect(frameHex(req.subarray(0, req.length - 2))).toBe('11 0f 00 13 00 0a 02 cd 01')
    expect(crcOk(req)).toBe(true)
  })

  it('refuses requests the spec does not allow, naming the field', () => {
    expect(() => readBitsRequest(0, 0x02, 0, 8)).toThrow(/slave address 0/)
    expect(() => readBitsRequest(248, 0x02, 0, 8)).toThrow(/slave address 248/)
    expect(() => readBitsRequest(1, 0x02, 0, 2001)).toThrow(/count 2001/)
    expect(() => readBitsRequest(1, 0x01, 65535, 2)).toThrow(/past address 65535/)
    expect(() => writeMultipleCoilsRequest(1, 0, [])).toThrow(/count 0/)
  })

  it('packs bits LSB first, as the spec example (coils 20..38 read as CD 6B 05)', () => {
    const bits = unpackBits(bytes('cd 6b 05'), 19)
    expect(bits.join('')).toBe('1011001111010110101')
    expect(packBits(bits)).toEqual(bytes('cd 6b 05'))
  })

  it('tells the answer length from its first bytes, exceptions included', () => {
    const read = readBitsRequest(1, 0x02, 0, 8)
    expect(expectedResponseLength(read, bytes('01'))).toBeUndefined()
    expect(expectedResponseLength(read, bytes('01 02'))).toBeUndefined()
    expect(expectedResponseLength(read, bytes('01 02 01'))).toBe(6)
    expect(expectedResponseLength(read, bytes('01 82'))).toBe(5)
    expect(expectedResponseLength(writeSingleCoilRequest(1, 3, true), bytes('01 05'))).toBe(8)
  })

  it('parses answers: bits, an echo, an exception; refuses a bad CRC and an answer to another question', () => {
    const read = readBitsRequest(1, 0x02, 0, 8)
    expect(parseResponse(read, withCrc(bytes('01 02 01 05')))).toEqual({ kind: 'bits', bits: [1, 0, 1, 0, 0, 0, 0, 0] })
    const write = writeSingleCoilRequest(1, 0, true)
    expect(parseResponse(write, write)).toEqual({ kind: 'written' })
    expect(parseResponse(read, withCrc(bytes('01 82 02')))).toEqual({ kind: 'exception', code: 2, text: 'illegal data address' })
    const bad = withCrc(bytes('01 02 01 05'))
    bad[bad.length - 1]! ^= 0xff
    expect(() => parseResponse(read, bad)).toThrow(expect.objectContaining({ kind: 'crc' }))
    expect(() => parseResponse(read, withCrc(bytes('02 02 01 05')))).toThrow(expect.objectContaining({ kind: 'mismatch', message: expect.stringMatching(/slave 2 to a request to 1/) }))
    expect(() => parseResponse(read, withCrc(bytes('01 02 02 05 00')))).toThrow(expect.objectContaining({ kind: 'mismatch' }))
    expect(() => parseResponse(write, withCrc(bytes('01 05 00 01 ff 00')))).toThrow(/not echoed/)
  })
})
