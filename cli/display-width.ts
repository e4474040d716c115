/**
 * Terminal columns of text, for tables a technician reads in a terminal:
 * East Asian Wide and Fullwidth characters (Chinese, Japanese kana, Hangul,
 * fullwidth forms, most emoji) take two columns, combining marks and
 * format characters none, the rest one (Unicode UAX #11, as wcwidth counts).
 */
const WIDE = new RegExp(
  '[' +
    '\\u{1100}-\\u{115F}\\u{231A}\\u{231B}\\u{2329}\\u{232A}\\u{23E9}-\\u{23EC}\\u{23F0}\\u{23F3}\\u{25FD}\\u{25FE}\\u{2614}\\u{2615}' +
    '\\u{2648}-\\u{2653}\\u{267F}\\u{2693}\\u{26A1}\\u{26AA}\\u{26AB}\\u{26BD}\\u{26BE}\\u{26C4}\\u{26C5}\\u{26CE}\\u{26D4}\\u{26EA}' +
    '\\u{26F2}\\u{26F3}\\u{26F5}\\u{26FA}\\u{26FD}\\u{2705}\\u{270A}\\u{270B}\\u{2728}\\u{274C}\\u{274E}\\u{2753}-\\u{2755}\\u{2757}' +
    '\\u{2795}-\\u{2797}\\u{27B0}\\u{27BF}\\u{2B1B}\\u{2B1C}\\u{2B50}\\u{2B55}' +
    '\\u{2E80}-\\u{303E}\\u{3041}-\\u{33FF}\\u{3400}-\\u{4DBF}\\u{4E00}-\\u{9FFF}\\u{A000}-\\u{A4CF}\\u{A960}-\\u{A97F}\\u{AC00}-\\u{D7A3}' +
    '\\u{F900}-\\u{FAFF}\\u{FE10}-\\u{FE19}\\u{FE30}-\\u{FE6F}\\u{FF01}-\\u{FF60}\\u{FFE0}-\\u{FFE6}' +
    '\\u{16FE0}-\\u{16FE4}\\u{17000}-\\u{18CFF}\\u{1B000}-\\u{1B2FF}\\u{1F004}\\u{1F0CF}\\u{1F18E}\\u{1F191}-\\u{1F19A}\\u{1F200}-\\u{1F251}' +
    '\\u{1F300}-\\u{1F320}\\u{1F32D}-\\u{1F335}\\u{1F337}-\\u{1F37C}\\u{1F37E}-\\u{1F393}\\u{1F3A0}-\\u{1F3CA}\\u{1F3CF}-\\u{1F3D3}' +
    '\\u{1F3E0}-\\u{1F3F0}\\u{1F3F4}\\u{1F3F8}-\\u{1F43E}\\u{1F440}\\u{1F442}-\\u{1F4FC}\\u{1F4FF}-\\u{1F53D}\\u{1F54B}-\\u{1F54E}' +
    '\\u{1F550}-\\u{1F567}\\u{1F57A}\\u{1F595}\\u{1F596}\\u{1F5A4}\\u{1F5FB}-\\u{1F64F}\\u{1F680}-\\u{1F6C5}\\u{1F6CC}\\u{1F6D0}-\\u{1F6D2}' +
    '\\u{1F6D5}-\\u{1F6D7}\\u{1F6EB}\\u{1F6EC}\\u{1F6F4}-\\u{1F6FC}\\u{1F7E0}-\\u{1F7EB}\\u{1F90C}-\\u{1F93A}\\u{1F93C}-\\u{1F945}' +
    '\\u{1F947}-\\u{1F9FF}\\u{1FA70}-\\u{1FAFF}\\u{20000}-\\u{2FFFD}\\u{30000}-\\u{3FFFD}' +
    ']',
  'u',
)
/** Combining marks, enclosing marks and format characters (zero-width space and joiners, soft hyphen, variation selectors). */
const ZERO = /[\p{Mn}\p{Me}\p{Cf}\u{FE00}-\u{FE0F}]/u

/** How many terminal columns `text` takes. */
export function displayWidth(text: string): number {
  let w = 0
  for (const ch of text) w += ZERO.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1
  return w
}

/** `text` and spaces up to `width` columns; text already as wide or wider gets no spaces (the caller adds the gap between columns). */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)))
}
