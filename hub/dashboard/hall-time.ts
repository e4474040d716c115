/**
 * Browser code shared by the dashboard and the window detail page
 * (hub/dashboard/page.ts, window-page.ts): every time either page shows is
 * hall-local, in the zone the hub reports (`timeZone` of /api/hall and
 * /api/windows/{counter}), whatever zone the browser is in, so a technician
 * reads the same clock as the hall's screens and NVR lines.
 */
export const HALL_TIME_SCRIPT = String.raw`
let hallZone = 'Asia/Shanghai';
let hallTimeFormat = null;
/** The hub's zone; a page sets it from each snapshot it loads. */
function setHallZone(zone) { if (zone) hallZone = zone; }
/** HH:MM:SS of an ISO instant on the hall's clock; '' for no time. */
function hallTime(iso) {
  const t = Date.parse(iso || '');
  if (!Number.isFinite(t)) return '';
  if (!hallTimeFormat || hallTimeFormat.resolvedOptions().timeZone !== hallZone) hallTimeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: hallZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return hallTimeFormat.format(new Date(t));
}
`
