/**
 * The part of the `epoll` addon (onoff's, and the chardev adapter's way to
 * hear a line request's fd) this project uses; the package ships no types.
 */
declare module 'epoll' {
  export class Epoll {
    static readonly EPOLLIN: number
    static readonly EPOLLPRI: number
    static readonly EPOLLONESHOT: number
    constructor(callback: (err: Error | null, fd: number, events: number) => void)
    add(fd: number, events: number): this
    modify(fd: number, events: number): this
    remove(fd: number): this
    close(): this
  }
}
