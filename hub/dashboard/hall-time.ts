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
/**
 * How far the hub's clock is from this browser's, from the hub's time in each snapshot: a service's start is
 * on the hub's clock (hub/hall-view.ts serviceStartedAt), and a phone's clock counted from it showed hours of
 * service when either clock was off (a hub on 1970 before NTP, a phone set by hand).
 */
let hubSkewMs = 0;
function setHubTime(iso) { const t = Date.parse(iso || ''); if (Number.isFinite(t)) hubSkewMs = t - Date.now(); }
/** Now on the hub's clock, as near as the last snapshot says. */
function hubNow() { return Date.now() + hubSkewMs; }
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
