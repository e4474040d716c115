import { readFile } from 'node:fs/promises'
import { decodeWav } from '../../hub/announcer/wav.ts'

/**
 * Reads which clips an announcement's audio is made of, from the samples
 * alone: at each point either one clip's samples follow exactly (the
 * announcer joins clips losslessly at volume 1.0) or silence does. Anything
 * else is an error naming the sample where the audio stopped making sense.
 */
export function clipSequence(samples: Int16Array, clips: ReadonlyMap<string, Int16Array>): Array<{ clip: string; at: number }> {
  // Longest first: a clip that is the start of a longer one must not win over it.
  const ordered = [...clips.entries()].filter(([, c]) => c.length > 0).sort((a, b) => b[1].length - a[1].length)
  const out: Array<{ clip: string; at: number }> = []
  let p = 0
  while (p < samples.length) {
    const hit = ordered.find(([, c]) => p + c.length <= samples.length && matches(samples, p, c))
    if (hit) {
      out.push({ clip: hit[0], at: p })
      p += hit[1].length
    } else if (samples[p] === 0) {
      p++
    } else {
      throw new Error(`sample ${p} (${samples[p]}) starts no clip and is not silence; clips so far: ${out.map((o) => o.clip).join(' / ')}`)
    }
  }
  return out
}

function matches(samples: Int16Array, at: number, clip: Int16Array): boolean {
  for (let i = 0; i < clip.length; i++) if (samples[at + i] !== clip[i]) return false
  return true
}

export async function wavSamples(file: string): Promise<{ rate: number; samples: Int16Array }> {
  return decodeWav(await readFile(file), file)
}
