import { existsSync } from 'node:fs'
import { chromium, type BrowserContext } from 'playwright-core'

/** Debian's Chromium: the tests never download a browser (test/setup/debian-packages.mjs installs it). */
export const CHROMIUM = '/usr/bin/chromium'

export interface ChromiumOptions {
  viewport?: { width: number; height: number }
  /** The browser's own time zone, e.g. one far from the hall's, so a time shown in it (or in UTC) is caught. */
  timezoneId?: string
}

/**
 * Headless Chromium with a fresh, empty profile in `profileDir` (launchPersistentContext is how
 * playwright takes one), as the dashboard and hall-screen tests drive it.
 */
export async function launchChromium(profileDir: string, opts: ChromiumOptions = {}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: npm test installs it as root, or run: sudo apt-get install -y chromium`)
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    // The hall network is closed: background networking would only fail loudly.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
  })
}
