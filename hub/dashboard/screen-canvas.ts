/**
 * Browser code shared by the dashboard's tiles and the window detail page
 * (hub/dashboard/page.ts, window-page.ts): draws a window's screen picture,
 * as the board reports it on its `screen` topic, into each
 * `<canvas data-bits>` under a root, so both pages show the same pixels.
 */
export const DRAW_SCREENS_SCRIPT = String.raw`
/** Packed rows, 1 bit a pixel, MSB leftmost: lit pixels amber on black, like the LED strip. */
function drawScreens(root) {
  for (const c of root.querySelectorAll('canvas[data-bits]')) {
    const w = c.width, h = c.height, stride = Math.ceil(w / 8);
    const bytes = Uint8Array.from(atob(c.dataset.bits), (ch) => ch.charCodeAt(0));
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const on = (bytes[y * stride + (x >> 3)] >> (7 - (x & 7))) & 1;
      const i = (y * w + x) * 4;
      img.data[i] = on ? 255 : 17; img.data[i + 1] = on ? 176 : 17; img.data[i + 2] = on ? 0 : 17; img.data[i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
}
`
