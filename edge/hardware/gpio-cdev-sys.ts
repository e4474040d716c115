/**
 * What the chardev adapter (chardev-backend.ts) needs of the operating
 * system, as one small interface: the /dev/gpiochipN files, ioctl(2), read(2)
 * on a line request's fd, and word when that fd has events. `openGpioCdevSys`
 * is the real one (fs, the bare ioctl addon in packages/gpio-ioctl, and the
 * `epoll` addon onoff already brings); test/support/fake-gpio-cdev.ts is a
 * kernel model behind the same interface, decoding the same uAPI bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { readdir, realpath } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'

export interface GpioCdevSys {
  /** The character devices, '/dev/gpiochip0', …, in number order. */
  listChips(): Promise<string[]>
  /** The name of the chip's parent device ('44e07000.gpio'), where sysfs tells it. */
  parentDevice(chipPath: string): Promise<string | undefined>
  open(path: string): number
  /** Throws an Error with the errno's `code`. */
  ioctl(fd: number, request: number, arg: Buffer): number
  /** Bytes read; only called once `onReadable` said there is something. */
  read(fd: number, buf: Buffer): number
  /** Calls back whenever the fd has data to read; returns the unsubscribe. */
  onReadable(fd: number, cb: () => void): () => void
  close(fd: number): void
}

export const DEV_ROOT = '/dev'
export const GPIO_BUS_DEVICES = '/sys/bus/gpio/devices'

/** Why the chardev adapter cannot run here, with what to do. */
export class GpioCdevUnavailableError extends Error {
  override readonly name = 'GpioCdevUnavailableError'
  readonly code: string

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

interface IoctlAddon {
  ioctl(fd: number, request: number, arg: Buffer): number
}

interface EpollInstance {
  add(fd: number, events: number): unknown
  remove(fd: number): unknown
  close(): unknown
}

export async function openGpioCdevSys(opts: { devRoot?: string; busDevices?: string } = {}): Promise<GpioCdevSys> {
  const devRoot = opts.devRoot ?? DEV_ROOT
  const busDevices = opts.busDevices ?? GPIO_BUS_DEVICES
  const require = createRequire(import.meta.url)
  let addon: IoctlAddon
  try {
    addon = require('@counter-edge/gpio-ioctl') as IoctlAddon
  } catch (err) {
    throw new GpioCdevUnavailableError(
      `the GPIO character-device adapter needs its ioctl addon (@counter-edge/gpio-ioctl, packages/gpio-ioctl), which did not load: ` +
        `${(err as Error).message.split('\n')[0]}. It is built by \`npm install\` with g++, make and python3 present ` +
        `(docs/operations.md, install); rebuild it with \`npm rebuild @counter-edge/gpio-ioctl\`.`,
      'ENOENT',
      { cause: err },
    )
  }
  const { Epoll } = (await import('epoll')) as unknown as { Epoll: { new (cb: (err: Error | null, fd: number) => void): EpollInstance; EPOLLIN: number } }
  const readers = new Map<number, () => void>()
  let epoll: EpollInstance | undefined
  const poller = (): EpollInstance => {
    epoll ??= new Epoll((err, fd) => {
      if (err === null) readers.get(fd)?.()
    })
    return epoll
  }
  return {
    async listChips() {
      const names = (await readdir(devRoot)).filter((n) => /^gpiochip\d+$/.test(n))
      return names.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).map((n) => join(devRoot, n))
    },
    async parentDevice(chipPath) {
      try {
        return basename(dirname(await realpath(join(busDevices, basename(chipPath)))))
      } catch {
        return undefined
      }
    },
    open: (path) => openSync(path, 'r+'),
    ioctl: (fd, request, arg) => addon.ioctl(fd, request, arg),
    read: (fd, buf) => readSync(fd, buf, 0, buf.length, null),
    onReadable(fd, cb) {
      readers.set(fd, cb)
      poller().add(fd, Epoll.EPOLLIN)
      return () => {
        if (!readers.delete(fd)) return
        poller().remove(fd)
        if (readers.size === 0) {
          epoll?.close()
          epoll = undefined
        }
      }
    },
    close: (fd) => closeSync(fd),
  }
}
