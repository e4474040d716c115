/**
 * A display driver's periodic rewrite of everything it shows: a chip that
 * browned out or was replugged comes back blank or random, and nothing else
 * would write it again until the picture changes. Each rewrite is handed to
 * whoever watches (the call display, the window screen), which reports a
 * failed one as a fault and restores the picture after a good one.
 */
export class PeriodicRefresh {
  private timer: NodeJS.Timeout | undefined
  private listener: ((refresh: Promise<void>) => void) | undefined

  constructor(
    /** 0: no refresh. */
    private readonly everyMs: number,
    private readonly rewrite: () => Promise<void>,
    /** A failed rewrite when nobody watches; the driver notes the fault itself for its next write. */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (this.everyMs <= 0 || this.timer !== undefined) return
    this.timer = setInterval(() => {
      const refresh = this.rewrite()
      refresh.catch(this.onError)
      this.listener?.(refresh)
    }, this.everyMs)
  }

  watch(listener: (refresh: Promise<void>) => void): void {
    this.listener = listener
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
