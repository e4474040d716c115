/**
 * The dashboard's updates panel, for a logged-in technician: upload a signed
 * release (its .release.json and .tar.gz, checked by the hub against the
 * hall's key), start a rollout to every board a few at a time, follow it and
 * cancel it. It drives the same HTTP API as `counter-edge update`
 * (hub/fleet/release-routes.ts); the hub's rollout keeps every rule (no two
 * neighbouring windows together, never a window with an applicant), so the
 * panel has nothing to enforce itself.
 *
 * Its script runs after the dashboard's (hub/dashboard/page.ts) and uses its
 * text table and helpers (T, bi, esc, toast, loggedIn), so it follows the
 * language switch like the rest of the page.
 */

export const FLEET_PANEL_HTML = `<section id="fleet" hidden aria-labelledby="fleet-title">
  <h2 id="fleet-title" data-t="fleet.title"></h2>
  <form id="fleet-upload">
    <label for="fleet-manifest" data-t="fleet.manifest"></label>
    <input id="fleet-manifest" type="file" accept=".json,application/json" required>
    <label for="fleet-payload" data-t="fleet.payload"></label>
    <input id="fleet-payload" type="file" accept=".gz,.tgz,application/gzip" required>
    <button id="fleet-upload-btn" type="submit" data-t="fleet.upload"></button>
  </form>
  <ul id="fleet-releases"></ul>
  <div class="fleet-start">
    <label for="fleet-at-a-time" data-t="fleet.atATime"></label>
    <input id="fleet-at-a-time" type="number" min="1" max="50" value="2">
  </div>
  <div id="fleet-status" role="status" aria-live="polite"></div>
  <button id="fleet-cancel" type="button" hidden data-t="fleet.cancel"></button>
</section>`

export const FLEET_PANEL_STYLE = `
  #fleet { margin-bottom: 14px; padding-bottom: 10px; border-bottom: 1px solid #ddd; }
  #fleet h2 { font-size: 15px; margin: 0 0 8px; }
  #fleet-upload { display: grid; gap: 4px; margin-bottom: 8px; }
  #fleet-upload label, .fleet-start label { font-size: 13px; }
  #fleet-releases { list-style: none; margin: 0 0 8px; padding: 0; font-size: 13px; }
  #fleet-releases li { display: flex; justify-content: space-between; align-items: center; gap: 6px; padding: 3px 0; }
  .fleet-start { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; }
  .fleet-start input { width: 64px; }
  #fleet-status { font-size: 13px; white-space: pre-line; }
  #fleet-status .bad { color: var(--bad); font-weight: 600; }
`

export const FLEET_PANEL_SCRIPT = String.raw`
Object.assign(TEXT, {
  'fleet.title': { zh: '升级', en: 'Updates' },
  'fleet.manifest': { zh: '签名清单（.release.json）', en: 'signed manifest (.release.json)' },
  'fleet.payload': { zh: '发布包（.tar.gz）', en: 'payload (.tar.gz)' },
  'fleet.upload': { zh: '上传', en: 'Upload' },
  'fleet.uploaded': { zh: '已上传 {v}', en: '{v} uploaded' },
  'fleet.refused': { zh: '集线器拒绝：{why}', en: 'the hub refused it: {why}' },
  'fleet.notManifest': { zh: '不是签名清单', en: 'not a signed manifest' },
  'fleet.atATime': { zh: '每批板数', en: 'boards at a time' },
  'fleet.updateAll': { zh: '全部升级到 {v}', en: 'Update all to {v}' },
  'fleet.incomplete': { zh: '发布包未上传', en: 'payload not uploaded' },
  'fleet.cancel': { zh: '取消升级', en: 'Cancel the rollout' },
  'fleet.none': { zh: '没有进行中的升级', en: 'no rollout' },
  'fleet.state.running': { zh: '升级中', en: 'running' },
  'fleet.state.done': { zh: '已完成', en: 'done' },
  'fleet.state.halted': { zh: '已停止', en: 'halted' },
  'fleet.state.cancelled': { zh: '已取消', en: 'cancelled' },
  'fleet.waves': { zh: '第 {n} 批', en: 'wave {n}' },
  'fleet.haltedAt': { zh: '停在 {c}：', en: 'stopped at {c}: ' },
  'fleet.board.pending': { zh: '等待', en: 'waiting' },
  'fleet.board.sent': { zh: '升级中', en: 'updating' },
  'fleet.board.confirmed': { zh: '已确认', en: 'confirmed' },
  'fleet.board.failed': { zh: '失败', en: 'failed' },
  'fleet.board.rolled-back': { zh: '已回退', en: 'rolled back' },
  'fleet.board.skipped': { zh: '已是此版本', en: 'already on it' },
});
for (const el of $('fleet').querySelectorAll('[data-t]')) el.innerHTML = T(el.dataset.t);
let fleetReleases = [];
let fleetRollout = null;
function renderFleet() {
  $('fleet').hidden = !loggedIn;
  if (!loggedIn) return;
  const busy = fleetRollout && fleetRollout.state === 'running';
  $('fleet-releases').innerHTML = fleetReleases.map((r) => '<li><span>' + esc(r.version) + (r.complete ? '' : ' · ' + T('fleet.incomplete')) + '</span>' +
    (r.complete ? '<button type="button" data-fleet-version="' + esc(r.version) + '"' + (busy ? ' disabled' : '') + '>' + T('fleet.updateAll', { v: r.version }) + '</button>' : '') + '</li>').join('');
  const s = fleetRollout;
  if (!s || s.state === 'none') { $('fleet-status').innerHTML = T('fleet.none'); $('fleet-cancel').hidden = true; return; }
  const boards = s.boards.map((b) => esc(b.counter) + ' ' + T('fleet.board.' + b.state)).join(' · ');
  $('fleet-status').innerHTML = esc(s.version) + ' · ' + T('fleet.state.' + s.state) + (s.waves ? ' · ' + T('fleet.waves', { n: s.waves }) : '') + '\n' + boards +
    (s.halted ? '\n<span class="bad">' + T('fleet.haltedAt', { c: s.halted.counter }) + esc(s.halted.reason) + '</span>' : '');
  $('fleet-cancel').hidden = !busy;
}
async function pollFleet() {
  if (!loggedIn) { renderFleet(); return; }
  try {
    const [rel, roll] = await Promise.all([fetch('api/releases'), fetch('api/rollout')]);
    if (rel.ok) fleetReleases = (await rel.json()).releases;
    fleetRollout = roll.ok ? await roll.json() : null;
  } catch {}
  renderFleet();
}
async function fleetAnswer(r) {
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { toast(T('fleet.refused', { why: body.error ? plain(splitPair(body.error)) : String(r.status) }), 10000); return null; }
  return body;
}
$('fleet-upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const mf = $('fleet-manifest').files[0], pf = $('fleet-payload').files[0];
  if (!mf || !pf) return;
  const text = await mf.text();
  let version = null;
  try { version = JSON.parse(atob(JSON.parse(text).manifest)).version; } catch {}
  if (typeof version !== 'string') { toast(T('fleet.refused', { why: plain(tr('fleet.notManifest')) }), 10000); return; }
  const v = encodeURIComponent(version);
  if (!(await fleetAnswer(await fetch('api/releases/' + v + '/manifest', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: text })))) return;
  if (!(await fleetAnswer(await fetch('api/releases/' + v + '/payload', { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: pf })))) return;
  toast(T('fleet.uploaded', { v: version }));
  $('fleet-upload').reset();
  await pollFleet();
});
$('fleet-releases').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-fleet-version]');
  if (!b) return;
  const atATime = Math.max(1, Math.min(50, Number($('fleet-at-a-time').value) || 1));
  const r = await fetch('api/rollout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: b.dataset.fleetVersion, all: true, atATime }) });
  if (await fleetAnswer(r)) await pollFleet();
});
$('fleet-cancel').addEventListener('click', async () => {
  if (await fleetAnswer(await fetch('api/rollout/cancel', { method: 'POST' }))) await pollFleet();
});
$('lang-btn').addEventListener('click', renderFleet);
setInterval(pollFleet, 2000);
pollFleet();
`
