import { fileURLToPath } from 'node:url'

/**
 * Where a test's screenshot goes: the committed picture in docs/ when a run
 * is asked to refresh them (UPDATE_DOCS=1), otherwise nowhere. Playwright then
 * still renders the picture, into memory, so every run takes the same path
 * through the page and leaves nothing behind in the system's temp folder.
 */
export function docScreenshot(relativeToDocs: string): string | undefined {
  return process.env.UPDATE_DOCS ? fileURLToPath(new URL(`../../docs/${relativeToDocs}`, import.meta.url)) : undefined
}
