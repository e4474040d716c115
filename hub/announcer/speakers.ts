import { spawn } from 'node:child_process'
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeWav, type Pcm } from './wav.ts'

/** Where announcements go. `play` resolves once the announcement has been said: the queue waits for it, so two never overlap. */
export interface Speaker {
  readonly describe: string
  play(audio: Pcm, label: string): Promise<void>
  /** The announcer is stopping. A loudspeaker finishes its sentence; a speaker that only paces itself has nothing left to say. */
  stop?(): void
}

/**
 * Plays through ALSA with `aplay` (package alsa-utils), one process per
 * announcement, the WAV on its stdin; `device` is an ALSA name such as
 * `default`, `plughw:1,0` (aplay -L lists them).
 */
export class AplaySpeaker implements Speaker {
  readonly describe: string

  constructor(
    private readonly device: string,
    private readonly binary = 'aplay',
  ) {
    this.describe = `aplay -D ${device}`
  }

  play(audio: Pcm): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-q', '-D', this.device, '-t', 'wav', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-500)
      })
      child.on('error', (err) => reject(new Error(`cannot run ${this.binary}: ${err.message} (install alsa-utils)`)))
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${this.binary} -D ${this.device} exited ${code}: ${stderr.trim()}`))))
      child.stdin.on('error', () => undefined)
      child.stdin.end(encodeWav(audio))
    })
  }
}

export interface FileSpeakerOptions {
  dir: string
  /** Announcement files kept; older ones go, so a simulated hall running for days does not fill its disk. */
  keep?: number
  /**
   * Also append every announcement to this one WAV, as the loudspeaker line
   * would carry them: one after another, never mixed (the tests read it).
   */
  line?: string
  /** Silence between two announcements on the line. */
  lineGapMs?: number
  /** Take as long as the announcement lasts, as a loudspeaker would, so the queue behaves as it does in a hall (the simulated hall). */
  realtime?: boolean
}

/** Writes each announcement as a WAV file (`<n>-<label>.wav`): the simulated hall and the tests, no sound card needed. */
export class FileSpeaker implements Speaker {
  readonly describe: string
  private n = 0
  private lineSamples = 0
  private lineRate: number | null = null
  /** The realtime wait under way, ended at once by stop(): the file is written, nobody listens to the pause. */
  private pacing: { timer: NodeJS.Timeout; done: () => void } | null = null
  private stopped = false

  constructor(private readonly opts: FileSpeakerOptions) {
    this.describe = `files in ${opts.dir}`
  }

  async play(audio: Pcm, label: string): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true })
    // Numbering goes on from what an earlier run left, so the newest file always sorts last.
    if (this.n === 0) this.n = Math.max(0, ...(await readdir(this.opts.dir)).map((f) => Number(/^(\d{6})-/.exec(f)?.[1] ?? 0)))
    this.n++
    const file = join(this.opts.dir, `${String(this.n).padStart(6, '0')}-${label.replace(/[^\p{L}\p{N}-]+/gu, '_')}.wav`)
    // Renamed into place: whoever watches the directory never reads half an announcement.
    await writeFile(`${file}.part`, encodeWav(audio))
    await rename(`${file}.part`, file)
    if (this.opts.line) await this.appendToLine(audio)
    await this.prune()
    if (this.opts.realtime && !this.stopped) {
      await new Promise<void>((done) => {
        this.pacing = { timer: setTimeout(done, (audio.samples.length / audio.rate) * 1000), done }
      })
      this.pacing = null
    }
  }

  stop(): void {
    this.stopped = true
    if (this.pacing) {
      clearTimeout(this.pacing.timer)
      this.pacing.done()
    }
  }

  private async appendToLine(audio: Pcm): Promise<void> {
    const line = this.opts.line!
    if (this.lineRate !== null && this.lineRate !== audio.rate) throw new Error(`the line ${line} is at ${this.lineRate} Hz, this announcement at ${audio.rate} Hz`)
    if (this.lineRate === null) {
      this.lineRate = audio.rate
      await writeFile(line, encodeWav({ rate: audio.rate, samples: new Int16Array(0) }))
    }
    const gap = this.lineSamples === 0 ? 0 : Math.round((audio.rate * (this.opts.lineGapMs ?? 500)) / 1000)
    const body = Buffer.alloc((gap + audio.samples.length) * 2)
    for (let i = 0; i < audio.samples.length; i++) body.writeInt16LE(audio.samples[i]!, 2 * (gap + i))
    this.lineSamples += gap + audio.samples.length
    const f = await open(line, 'r+')
    try {
      const { size } = await f.stat()
      await f.write(body, 0, body.length, size)
      const header = Buffer.alloc(4)
      header.writeUInt32LE(36 + this.lineSamples * 2)
      await f.write(header, 0, 4, 4)
      header.writeUInt32LE(this.lineSamples * 2)
      await f.write(header, 0, 4, 40)
    } finally {
      await f.close()
    }
  }

  private async prune(): Promise<void> {
    const keep = this.opts.keep ?? 200
    const files = (await readdir(this.opts.dir)).filter((f) => /^\d{6}-.*\.wav$/.test(f)).sort()
    for (const f of files.slice(0, Math.max(0, files.length - keep))) await rm(join(this.opts.dir, f), { force: true })
  }
}
