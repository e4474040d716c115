/**
 * What each mode looks like on a pixel screen, and the drawing of it
 * (docs/hardware.md §4.8). Every text a person reads is Chinese with English
 * beside it, except the call itself, 请A012号, which must fit a 64×16 strip
 * (请 and 号 16 px each, the number in 8 px halfwidth digits).
 *
 * A screen is 16 px high (one line, the window strip), 32 px (two lines) or
 * 64 px and more (a small line, a line at twice the size, a small line: the
 * call number is 32 px high on a 128×64 OLED). A line wider than the screen
 * scrolls; one that fits is centred.
 */
import type { ScreenView } from '../counter/screen-view.ts'
import { PAUSE_REASONS } from '../counter/view.ts'
import type { BitmapFont } from '../hardware/bitmap-font.ts'
import { PixelFrame } from '../hardware/pixel-frame.ts'
import { drawText, measureText, type MissingGlyphSink } from '../hardware/pixel-text.ts'

/** 'window': the public sign over the desk; 'officer': the officer's panel (who is signed in, what the window is doing). */
export type ScreenRole = 'window' | 'officer'

export interface ScreenLine {
  text: string
  y: number
  scale: number
}

const NEUTRAL_NAME = '窗口 Window'

export function pauseReasonText(reason: string | null): string {
  if (reason === null) return ''
  // One table of reasons for every display (edge/counter/view.ts), so the strip and the segments agree.
  const known = PAUSE_REASONS[reason.toLowerCase()]
  return known ? `${known.zh} ${known.en}` : reason
}

interface Parts {
  /** A small heading (the window's name). */
  head: string
  /** The main line: large where there is room. */
  main: string
  /** The small line under it (English, services, detail). */
  foot: string
  /** The whole message in one line, for a 16 px strip. */
  strip: string
}

function windowParts(v: ScreenView): Parts {
  const name = v.windowName ?? NEUTRAL_NAME
  const t = v.ticket ?? ''
  switch (v.mode) {
    case 'calling':
      return { head: name, main: `请${t}号`, foot: `Now calling ${t}`, strip: `请${t}号` }
    case 'serving':
      return { head: name, main: t, foot: '办理中 Serving', strip: `${t} 办理中 Serving` }
    case 'evaluating':
      return { head: name, main: '请评价', foot: 'Please rate our service', strip: '请评价 Please rate' }
    case 'paused': {
      const why = pauseReasonText(v.pauseReason)
      return { head: name, main: '暂停服务', foot: why === '' ? 'Paused' : why, strip: `暂停服务 ${why} Paused`.replace(/\s+/g, ' ') }
    }
    case 'closed':
      return { head: name, main: '窗口关闭', foot: 'Window closed', strip: '窗口关闭 Closed' }
    case 'idle': {
      const services = v.services.length > 0 ? v.services.join('、') : '欢迎 Welcome'
      return { head: name, main: v.windowName ?? '欢迎', foot: services, strip: `${v.windowName ?? '欢迎 Welcome'} ${v.services.join('、')}`.trim() }
    }
  }
}

const MODE_FOR_OFFICER: Readonly<Record<ScreenView['mode'], string>> = {
  calling: '叫号 Calling',
  serving: '办理 Serving',
  evaluating: '评价中 Rating',
  paused: '暂停 Paused',
  idle: '空闲 Idle',
  closed: '关闭 Closed',
}

function officerLines(v: ScreenView, height: number): string[] {
  const status = v.mode === 'paused' && v.pauseReason ? `${MODE_FOR_OFFICER.paused} ${pauseReasonText(v.pauseReason)}` : MODE_FOR_OFFICER[v.mode]
  const head = `${v.windowName ?? NEUTRAL_NAME}${v.ticket ? ` ${v.ticket}` : ''}`
  const who = v.officer ? [`姓名 ${v.officer.name ?? '—'}`, `警号 ${v.officer.id}`] : ['未签到', 'Not signed in']
  if (height < 32) return [v.officer ? `${v.officer.name ?? ''} 警号 ${v.officer.id} ${status}${v.ticket ? ` ${v.ticket}` : ''}` : `未签到 Not signed in ${status}`]
  if (height < 64) return [who.join(' '), `${status}${v.ticket ? ` ${v.ticket}` : ''}`]
  return [head, ...who, status]
}

/** The lines of `role`'s layout for `view` on a screen of this size. */
export function screenLines(view: ScreenView, role: ScreenRole, height: number): ScreenLine[] {
  if (role === 'officer') return officerLines(view, height).map((text, i) => ({ text, y: i * 16, scale: 1 }))
  const p = windowParts(view)
  if (height < 32) return [{ text: p.strip, y: 0, scale: 1 }]
  if (height < 64) return [
    { text: p.main, y: 0, scale: 1 },
    { text: p.foot, y: 16, scale: 1 },
  ]
  return [
    { text: p.head, y: 0, scale: 1 },
    { text: p.main, y: 16, scale: 2 },
    { text: p.foot, y: 48, scale: 1 },
  ]
}

/** The technician's identify picture: every pixel lit, a lamp test of the whole screen. */
export function identifyFrame(width: number, height: number): PixelFrame {
  const f = new PixelFrame(width, height)
  f.pixels.fill(1)
  return f
}

/** Blank pixels between the end of a scrolling line and its next pass, per unit of scale. */
export const SCROLL_GAP_PX = 16

/** Whether any line is wider than the screen, so the picture moves. */
export function linesScroll(font: BitmapFont, lines: readonly ScreenLine[], width: number): boolean {
  return lines.some((l) => measureText(font, l.text, l.scale) > width)
}

/**
 * Draws the lines: each centred when it fits, else scrolled left by `scrollPx`
 * (wrapping after a gap), so the tick that moves it can come from any timer.
 */
export function renderLines(font: BitmapFont, lines: readonly ScreenLine[], width: number, height: number, scrollPx: number, missing?: MissingGlyphSink): PixelFrame {
  const frame = new PixelFrame(width, height)
  for (const line of lines) {
    const w = measureText(font, line.text, line.scale)
    if (w <= width) {
      drawText(frame, font, line.text, Math.floor((width - w) / 2), line.y, { scale: line.scale }, missing)
      continue
    }
    const period = w + SCROLL_GAP_PX * line.scale
    const x = -(scrollPx % period)
    drawText(frame, font, line.text, x, line.y, { scale: line.scale }, missing)
    if (x + period < width) drawText(frame, font, line.text, x + period, line.y, { scale: line.scale })
  }
  return frame
}
