/**
 * Whether `p` settles within `ms`: a bound on a wait (a process asked to exit,
 * then killed if it did not), not a wait of its own — it returns as soon as
 * `p` does.
 */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms)
    const done = () => {
      clearTimeout(t)
      resolve(true)
    }
    p.then(done, done)
  })
}
