import type { WindowMode } from '../protocol/index.ts'
import type { CounterState, Millis } from './state.ts'
import { displayFor } from './view.ts'

/**
 * What a pixel screen shows follows from the state alone, as the call
 * display's text does (displayFor): the mode, the ticket, the officer and the
 * pause reason. A segment display can only show the number; a screen shows
 * the whole picture (edge/devices/screen-layouts.ts).
 */
export interface ScreenView {
  mode: WindowMode
  ticket: string | null
  /** Blink to draw the applicant's eye after a call or recall (displayFor's attention). */
  attention: boolean
  officer: { id: string; name: string | null } | null
  pauseReason: string | null
  /**
   * The window's public name ('3号窗口') and its services, when the runtime
   * knows them: the board config is to carry them (issue 17, the announcer's
   * part). Until then they are null / empty and the layouts show a neutral text.
   */
  windowName: string | null
  services: string[]
}

/**
 * Window facts from outside the counter's state: the seam for the window's
 * name and services. The window takes them as WindowOptions.screenInfo
 * (edge/window.ts); edge/main.ts is to fill it from the board config.
 */
export interface ScreenInfo {
  windowName?: string | null
  services?: readonly string[]
}

export function screenViewFor(s: CounterState, mono: Millis, info: ScreenInfo = {}): ScreenView {
  const shown = displayFor(s, mono)
  const ticket = s.mode === 'paused' || s.mode === 'idle' || s.mode === 'closed' ? null : shown.text
  return {
    mode: s.mode,
    ticket,
    attention: shown.attention,
    officer: s.officer ? { id: s.officer.id, name: s.officer.name } : null,
    pauseReason: s.mode === 'paused' ? (s.pause?.reason ?? null) : null,
    windowName: info.windowName ?? null,
    services: [...(info.services ?? [])],
  }
}
