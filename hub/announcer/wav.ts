/**
 * The one audio format the announcer works in: PCM, signed 16-bit little
 * endian, one channel (what espeak-ng writes and what aplay plays without a
 * plug-in). Clips are joined sample by sample, so at volume 1.0 an
 * announcement holds each clip's samples exactly: a test can find the clips in
 * the audio itself.
 */
export interface Pcm {
  rate: number
  samples: Int16Array
}

export class WavFormatError extends Error {
  override readonly name = 'WavFormatError'
}

/** Reads a WAV file; anything but PCM s16le mono is refused with what it is instead. */
export function decodeWav(buf: Buffer, what: string): Pcm {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError(`${what}: not a WAV file (no RIFF/WAVE header)`)
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null
  let off = 12
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4)
    // espeak-ng writes a streaming header whose sizes may be 0 or too large: the data chunk runs to the end of the file then.
    let size = buf.readUInt32LE(off + 4)
    const body = off + 8
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new WavFormatError(`${what}: truncated fmt chunk`)
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) }
    } else if (id === 'data') {
      if (!fmt) throw new WavFormatError(`${what}: data before fmt`)
      // WAVE_FORMAT_EXTENSIBLE (0xfffe) with 16-bit mono is still plain PCM.
      if (fmt.format !== 1 && fmt.format !== 0xfffe) throw new WavFormatError(`${what}: format ${fmt.format} is not PCM; convert it to PCM s16le mono (e.g. sox in.wav -b 16 -c 1 out.wav)`)
      if (fmt.bits !== 16) throw new WavFormatError(`${what}: ${fmt.bits}-bit samples; the voice pack takes 16-bit PCM mono (e.g. sox in.wav -b 16 -c 1 out.wav)`)
      if (fmt.channels !== 1) throw new WavFormatError(`${what}: ${fmt.channels} channels; the voice pack takes mono (e.g. sox in.wav -c 1 out.wav)`)
      if (fmt.rate < 4000 || fmt.rate > 192_000) throw new WavFormatError(`${what}: sample rate ${fmt.rate} Hz is not a usable rate`)
      if (size === 0 || body + size > buf.length) size = buf.length - body
      const n = Math.floor(size / 2)
      const samples = new Int16Array(n)
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i)
      return { rate: fmt.rate, samples }
    }
    off = body + size + (size % 2)
  }
  throw new WavFormatError(`${what}: no data chunk`)
}

export function encodeWav(pcm: Pcm): Buffer {
  const dataBytes = pcm.samples.length * 2
  const buf = Buffer.alloc(44 + dataBytes)
  buf.write('RIFF', 0, 'ascii')
  buf.writeUInt32LE(36 + dataBytes, 4)
  buf.write('WAVE', 8, 'ascii')
  buf.write('fmt ', 12, 'ascii')
  buf.writeUInt32LE(16, 16)
  buf.writeUInt16LE(1, 20)
  buf.writeUInt16LE(1, 22)
  buf.writeUInt32LE(pcm.rate, 24)
  buf.writeUInt32LE(pcm.rate * 2, 28)
  buf.writeUInt16LE(2, 32)
  buf.writeUInt16LE(16, 34)
  buf.write('data', 36, 'ascii')
  buf.writeUInt32LE(dataBytes, 40)
  for (let i = 0; i < pcm.samples.length; i++) buf.writeInt16LE(pcm.samples[i]!, 44 + 2 * i)
  return buf
}

/** Linear interpolation: good enough for speech, and a hall's recordings at 44.1 or 48 kHz join espeak-ng's 22.05 kHz clips. */
export function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.rate === rate) return pcm
  const n = Math.max(1, Math.round((pcm.samples.length * rate) / pcm.rate))
  const out = new Int16Array(n)
  const step = pcm.rate / rate
  for (let i = 0; i < n; i++) {
    const x = i * step
    const j = Math.floor(x)
    const a = pcm.samples[Math.min(j, pcm.samples.length - 1)] ?? 0
    const b = pcm.samples[Math.min(j + 1, pcm.samples.length - 1)] ?? a
    out[i] = Math.round(a + (b - a) * (x - j))
  }
  return { rate, samples: out }
}

/** One part of an announcement: a clip's samples, or silence of a number of samples. */
export type Part = Int16Array | number

/** Joins clips and silences, scaled by the volume (1.0 keeps every sample as it is; louder clips, never wraps). */
export function joinParts(parts: readonly Part[], volume: number): Int16Array {
  const total = parts.reduce<number>((n, p) => n + (typeof p === 'number' ? p : p.length), 0)
  const out = new Int16Array(total)
  let at = 0
  for (const p of parts) {
    if (typeof p === 'number') {
      at += p
      continue
    }
    if (volume === 1) out.set(p, at)
    else for (let i = 0; i < p.length; i++) out[at + i] = Math.max(-32768, Math.min(32767, Math.round(p[i]! * volume)))
    at += p.length
  }
  return out
}

/**
 * A clip as espeak-ng writes it has a long silence before and after; halls
 * say a call briskly, so the pack keeps only a few milliseconds of each.
 */
export function trimSilence(pcm: Pcm, threshold = 200, keepMs = 15): Pcm {
  const s = pcm.samples
  let a = 0
  while (a < s.length && Math.abs(s[a]!) < threshold) a++
  let b = s.length
  while (b > a && Math.abs(s[b - 1]!) < threshold) b--
  if (a >= b) return pcm
  const keep = Math.round((pcm.rate * keepMs) / 1000)
  return { rate: pcm.rate, samples: s.slice(Math.max(0, a - keep), Math.min(s.length, b + keep)) }
}
