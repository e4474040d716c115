/**
 * What a display shows, as its device knows it from the writes the chip took:
 * the window publishes it on the `screen` topic (edge/protocol/messages.ts)
 * so the hall's dashboard shows the glass, not the window's wish. A display
 * that is faulted, or was never written, shows nothing the board can vouch for.
 */
import type { PixelFrame } from '../hardware/pixel-frame.ts'

export interface DisplayShows {
  /** Lines of text on the glass ('\n' between), '' when blank; null when it shows nothing known. */
  text: string | null
  fault: { code: string; message: string } | null
  /** A pixel screen's picture, unscrolled; null for a segment display or when it shows nothing known. */
  picture: PixelFrame | null
}

/** Told each time what a display shows may have changed; the window reads shows() and publishes only a change. */
export type ShowsListener = () => void
