import { describe, expect, it } from 'vitest'
import { decodeWav, encodeWav, joinParts, resample, trimSilence } from '../../../hub/announcer/wav.ts'

function header(opts: { format?: number; channels?: number; bits?: number; rate?: number }, data: Buffer): Buffer {
  const wav = encodeWav({ rate: opts.rate ?? 22050, samples: new Int16Array(0) })
  wav.writeUInt16LE(opts.format ?? 1, 20)
  wav.writeUInt16LE(opts.channels ?? 1, 22)
  wav.writeUInt16LE(opts.bits ?? 16, 34)
  wav.writeUInt32LE(data.length, 40)
  return Buffer.concat([wav, data])
}

describe('WAV, PCM s16le mono', () => {
  it('reads back what it wrote, sample for sample', () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 65536) - 32768)
    expect(decodeWav(encodeWav({ rate: 16000, samples }), 'x')).toEqual({ rate: 16000, samples })
  })

  it('reads espeak-ng\'s streaming header, whose data size is 0 or too large', () => {
    const wav = encodeWav({ rate: 22050, samples: Int16Array.from([1, 2, 3]) })
    wav.writeUInt32LE(0x7fffffff, 40)
    expect([...decodeWav(wav, 'x').samples]).toEqual([1, 2, 3])
  })

  it('refuses what is not PCM 16-bit mono, saying what it is and how to convert it', () => {
    expect(() => decodeWav(Buffer.from('ID3 this is an mp3'), 'a.wav')).toThrow('a.wav: not a WAV file (no RIFF/WAVE header)')
    expect(() => decodeWav(header({ channels: 2 }, Buffer.alloc(8)), 'b.wav')).toThrow(/b\.wav: 2 channels; the voice pack takes mono/)
    expect(() => decodeWav(header({ bits: 8 }, Buffer.alloc(8)), 'c.wav')).toThrow(/c\.wav: 8-bit samples/)
    expect(() => decodeWav(header({ format: 3, bits: 32 }, Buffer.alloc(8)), 'd.wav')).toThrow(/d\.wav: format 3 is not PCM/)
  })

  it('joins losslessly at volume 1, scales otherwise, and clips rather than wraps', () => {
    const a = Int16Array.from([100, -200, 300])
    const b = Int16Array.from([30000, -30000])
    expect([...joinParts([a, 2, b], 1)]).toEqual([100, -200, 300, 0, 0, 30000, -30000])
    expect([...joinParts([a], 0.5)]).toEqual([50, -100, 150])
    expect([...joinParts([b], 2)]).toEqual([32767, -32768])
  })

  it('resamples to the pack rate and trims long silences to a few milliseconds', () => {
    const pcm = { rate: 44100, samples: Int16Array.from({ length: 4410 }, (_, i) => Math.round(1000 * Math.sin(i / 10))) }
    const r = resample(pcm, 22050)
    expect(r.rate).toBe(22050)
    expect(r.samples.length).toBe(2205)
    expect(r.samples[100]).toBe(pcm.samples[200])
    const padded = { rate: 1000, samples: Int16Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5000, -5000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
    expect(trimSilence(padded, 200, 5).samples.length).toBe(12)
  })
})
