/** ioctl(2) on `fd`, `arg` passed as the argument; returns the result, throws with the errno's code (EBUSY, EINVAL, …). */
export function ioctl(fd: number, request: number, arg: Buffer): number
