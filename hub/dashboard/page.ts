/**
 * The hall dashboard: one self-contained page (no build step, no CDN: the
 * hall network often has no internet). It loads the hall snapshot, then
 * applies live updates from an EventSource, so nothing needs a reload.
 */
export function dashboardPage(hall: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hall ${escapeHtml(hall)} · counter-edge</title>
<style>
  :root { --ok: #1b7f3b; --warn: #b86e00; --bad: #b3261e; --muted: #666; --bg: #f5f6f8; --card: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; background: var(--bg); color: #1d1d1f; }
  header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: #1f2a37; color: #fff; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0 12px 0 0; }
  .pill { padding: 3px 10px; border-radius: 999px; font-size: 13px; background: #394656; }
  .pill { color: #fff; } .pill.ok { background: var(--ok); } .pill.warn { background: var(--warn); } .pill.bad { background: var(--bad); }
  #login { margin-left: auto; display: flex; gap: 6px; align-items: center; }
  #login input { padding: 4px 6px; border-radius: 4px; border: 1px solid #999; width: 130px; }
  button { padding: 4px 10px; border-radius: 4px; border: 1px solid #888; background: #fff; cursor: pointer; }
  button:disabled { opacity: .5; cursor: default; }
  main { display: grid; grid-template-columns: 1fr 320px; gap: 16px; padding: 16px 20px; }
  #tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; align-content: start; }
  .tile { background: var(--card); border-radius: 8px; padding: 12px; border-left: 6px solid var(--ok); box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .tile.offline { border-left-color: var(--bad); opacity: .85; }
  .tile.fault { border-left-color: var(--warn); }
  .tile h2 { margin: 0; font-size: 16px; display: flex; justify-content: space-between; }
  .ticket { font: 700 34px/1.1 ui-monospace, "DejaVu Sans Mono", monospace; letter-spacing: 2px; margin: 6px 0; min-height: 38px; }
  .row { color: var(--muted); font-size: 13px; }
  .elapsed.warning { color: var(--warn); font-weight: 600; } .elapsed.over { color: var(--bad); font-weight: 700; }
  .faults { color: var(--bad); font-size: 13px; font-weight: 600; }
  #summary { grid-column: 1 / -1; display: flex; gap: 8px; flex-wrap: wrap; font-size: 14px; }
  #summary span { background: var(--card); border-radius: 999px; padding: 3px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  #summary .bad { color: #fff; background: var(--bad); } #summary .warn { color: #fff; background: #8a5200; }
  .offline-since { color: var(--bad); font-weight: 600; font-size: 13px; }
  .screen { background: #111; border-radius: 4px; padding: 4px; margin: 6px 0; }
  .screen canvas { display: block; width: 100%; height: auto; image-rendering: pixelated; image-rendering: crisp-edges; }
  .screen-text.blank { color: #9a9a9a; font-weight: 400; }
  .screen-text { color: #ffb000; font: 600 15px/1.3 system-ui, "Noto Sans CJK SC", sans-serif; white-space: pre-line; }
  .ticket.display-fault { color: var(--bad); font-size: 22px; letter-spacing: 0; }
  .mismatch { color: var(--bad); font-size: 13px; font-weight: 600; }
  .actions { margin-top: 8px; display: flex; gap: 6px; }
  aside { background: var(--card); border-radius: 8px; padding: 12px; max-height: calc(100vh - 110px); overflow: auto; }
  aside h2 { font-size: 15px; margin: 0 0 8px; }
  #feed { list-style: none; margin: 0; padding: 0; font-size: 13px; }
  #feed li { padding: 4px 0; border-bottom: 1px solid #eee; }
  #feed time { color: var(--muted); margin-right: 6px; }
  #alerts { grid-column: 1 / -1; background: #fdecea; border: 2px solid var(--bad); border-radius: 8px; padding: 10px 14px; }
  #alerts h2 { margin: 0 0 6px; font-size: 16px; color: var(--bad); }
  #alert-list { list-style: none; margin: 0; padding: 0; }
  #alert-list li { padding: 3px 0; }
  #alert-list time { color: var(--muted); margin-right: 6px; }
  .tile.alert { box-shadow: 0 0 0 2px var(--bad); }
  .alerts-row { color: var(--bad); font-size: 13px; font-weight: 600; }
  #announcer h2 { font-size: 15px; margin: 0 0 6px; }
  #announcements { list-style: none; margin: 0 0 12px; padding: 0; font-size: 13px; }
  #announcements li { padding: 3px 0; border-bottom: 1px solid #eee; }
  #announcements time { color: var(--muted); margin-right: 6px; }
  #announcements .en { color: var(--muted); }
  #announcer-problem { color: var(--bad); font-size: 13px; font-weight: 600; }
  #toast { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); background: #1f2a37; color: #fff; padding: 8px 14px; border-radius: 6px; display: none; }
  @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Hall <span id="hall">${escapeHtml(hall)}</span></h1>
  <span class="pill" id="hub-state">hub: connecting…</span>
  <span class="pill" id="bridge-state">central: –</span>
  <span class="pill" id="backlog">backlog: –</span>
  <span class="pill warn" id="quarantine" hidden title="Board messages this hub could not accept, kept in quarantine.jsonl in its data directory (docs/operations.md)">quarantined: 0</span>
  <form id="login" autocomplete="on">
    <span id="who"></span>
    <input id="user" name="username" placeholder="technician" autocomplete="username">
    <input id="pass" name="password" type="password" placeholder="password" autocomplete="current-password">
    <button id="login-btn" type="submit">Log in</button>
    <button id="logout-btn" type="button" hidden>Log out</button>
  </form>
</header>
<main>
  <section id="alerts" hidden aria-live="assertive" aria-label="bad ratings today">
    <h2>今日差评提醒 Bad ratings today (<span id="alert-count">0</span>) · 待中心跟进 central follows up</h2>
    <ul id="alert-list"></ul>
  </section>
  <div id="summary" role="status" aria-live="polite"></div>
  <section id="tiles" aria-label="windows"></section>
  <aside>
    <section id="announcer" hidden aria-label="last announcements">
      <h2>最近播报 Last announcements</h2>
      <div id="announcer-problem" hidden></div>
      <ul id="announcements"></ul>
    </section>
    <h2>Live events</h2><ul id="feed"></ul>
  </aside>
</main>
<div id="toast" role="status"></div>
<script>
${CLIENT_SCRIPT}
</script>
</body>
</html>
`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

// Plain browser JavaScript (no bundler): kept small and dependency-free.
const CLIENT_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const windows = new Map();
let loggedIn = false;
let bridge = null;

function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]); }
function fmtMs(ms) { const s = Math.max(0, Math.floor(ms / 1000)); return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0'); }
/** The hall's time zone (from the hub): every time on the page is hall-local, whatever zone the browser is in. */
let hallZone = 'Asia/Shanghai';
let timeFmt = null;
function hallTime(iso) {
  const t = Date.parse(iso || '');
  if (!Number.isFinite(t)) return '';
  if (!timeFmt || timeFmt.resolvedOptions().timeZone !== hallZone) timeFmt = new Intl.DateTimeFormat('en-GB', { timeZone: hallZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return timeFmt.format(new Date(t));
}
/** How long ago, in words a technician reads at a glance. */
function ago(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + ' 秒 s';
  if (s < 3600) return Math.floor(s / 60) + ' 分钟 min';
  return Math.floor(s / 3600) + ' 小时 h ' + Math.floor((s % 3600) / 60) + ' 分钟 min';
}
const OFFLINE_WORDS = { will: '连接中断 connection lost', stop: '已关机 shut down', restart: '重启中 restarting', upgrade: '升级中 upgrading', fault: '故障停机 stopped on a fault' };
function offlineText(w) {
  if (w.online && w.connected === false) return '未连接 not connected';
  return OFFLINE_WORDS[w.offlineReason] || '离线 offline';
}
function toast(text) { const t = $('toast'); t.textContent = text; t.style.display = 'block'; clearTimeout(toast.t); toast.t = setTimeout(() => (t.style.display = 'none'), 3500); }

function tile(w) {
  const s = w.state;
  const online = w.online && w.connected !== false;
  const faults = (s && s.faults) || [];
  // An offline window's timer is not running: nobody knows what happens there now.
  const started = online && s && s.ticket && s.ticket.startedAt ? Date.parse(s.ticket.startedAt) : null;
  const overtime = s ? s.overtime : 'none';
  const last = w.lastRating ? w.lastRating.score + ' (' + esc(w.lastRating.ticket) + ')' : '–';
  const depth = w.telemetry && w.telemetry.journal ? w.telemetry.journal.depth : null;
  const alerts = w.alerts || [];
  const cls = ['tile', online ? '' : 'offline', faults.length ? 'fault' : '', alerts.length ? 'alert' : ''].join(' ');
  return '<article class="' + cls + '" data-counter="' + esc(w.counter) + '">' +
    '<h2><span>' + esc(w.counter) + '</span><span class="pill ' + (online ? 'ok' : 'bad') + '" data-field="online">' + (online ? '在线 online' : '离线 offline') + '</span></h2>' +
    (online ? '' : '<div class="offline-since" data-field="offline">' + esc(offlineText(w)) + (w.since ? ' · 自 since ' + esc(hallTime(w.since)) + ' · <span data-since="' + esc(w.since) + '">' + esc(ago(w.since)) + '</span>' : '') + '</div>') +
    screenPart(w) +
    '<div class="row" data-field="mode">' + (online ? '' : '最后已知 last known: ') + esc(s ? s.mode : 'unknown') + (s && s.ticket && s.ticket.green ? ' · green channel' : '') + (s && s.pause ? ' · ' + esc(s.pause.reason) : '') + '</div>' +
    '<div class="row">service time: <span class="elapsed ' + esc(overtime) + '" data-started="' + (started || '') + '" data-field="elapsed">' + (started ? fmtMs(Date.now() - started) : '–') + '</span>' + (overtime !== 'none' ? ' · overtime ' + esc(overtime) : '') + '</div>' +
    '<div class="row" data-field="officer">officer: ' + esc(s && s.officer ? (s.officer.name || s.officer.id) : '–') + '</div>' +
    '<div class="row" data-field="rating">last rating: ' + esc(last) + '</div>' +
    '<div class="row">journal backlog: ' + (depth === null ? '–' : depth) + '</div>' +
    (alerts.length ? '<div class="alerts-row" data-field="alerts">今日差评 bad ratings today: ' + alerts.length + '</div>' : '') +
    (faults.length ? '<div class="faults" data-field="faults">' + faults.map((f) => esc(f.device + ': ' + f.code)).join(', ') + '</div>' : '') +
    versionPart(w) +
    '<div class="actions">' + ['identify', 'self-test', 'sync'].map((a) => '<button data-action="' + a + '" ' + (loggedIn && online ? '' : 'disabled') + '>' + a + '</button>').join('') + '</div>' +
    '</article>';
}

/** The version the board runs and, while it takes a release or after one failed, where it stands (its retained update report). */
const UPDATE_WORDS = { idle: '', downloading: '下载中 downloading', verifying: '校验中 verifying', installing: '安装中 installing', restarting: '重启中 restarting', confirming: '确认中 confirming', confirmed: '已确认 confirmed', 'rolled-back': '已回退 rolled back', failed: '升级失败 update failed' };
function versionPart(w) {
  const u = w.update;
  const running = (u && u.running) || w.version;
  const words = u ? UPDATE_WORDS[u.state] || u.state : '';
  const target = u && u.target && u.state !== 'idle' && u.state !== 'confirmed' ? ' → ' + u.target : '';
  const pct = u && u.progress && u.progress.total ? ' ' + Math.floor((100 * u.progress.bytes) / u.progress.total) + '%' : '';
  const bad = u && (u.state === 'rolled-back' || u.state === 'failed');
  return '<div class="row' + (bad ? ' faults' : '') + '" data-field="version">版本 version: ' + esc(running || '–') + (words ? ' · <span data-field="update">' + esc(words + target + pct) + '</span>' : '') + (bad && u.reason ? ' · ' + esc(u.reason) : '') + '</div>';
}

/**
 * What the window's display shows, from the board's own report of it (the
 * screen topic), never from the state: a dead display must look dead here,
 * or a technician believes applicants see a number they do not.
 */
function screenPart(w) {
  const sc = w.screen;
  const wanted = w.state && w.state.ticket ? w.state.ticket.number : null;
  if (!sc) return '<div class="ticket" data-field="ticket"></div><div class="row" data-field="screen-unknown">显示内容未知 the board has not said what its display shows</div>';
  if (sc.fault || sc.text === null) {
    return '<div class="ticket display-fault" data-field="ticket" data-display="fault">显示屏故障 Display fault</div>' +
      '<div class="faults" data-field="display-fault">' + esc(sc.fault ? sc.fault.code + ': ' + sc.fault.message : '显示屏无内容 shows nothing') + '</div>' +
      (wanted ? '<div class="mismatch" data-field="mismatch">应显示 should show ' + esc(wanted) + ' · 申请人看不到 applicants cannot see it</div>' : '');
  }
  const pic = sc.picture
    ? '<canvas data-field="screen" data-bits="' + esc(sc.picture.bits) + '" width="' + sc.picture.width + '" height="' + sc.picture.height + '" role="img" aria-label="' + esc('窗口屏 screen: ' + sc.text.replace(/\n/g, ' / ')) + '"></canvas>'
    : sc.text === '' ? '<div class="screen-text blank" data-field="screen">（空白 blank）</div>'
    : '<div class="screen-text" data-field="screen">' + esc(sc.text) + '</div>';
  return '<div class="ticket" data-field="ticket" data-display="ok">' + esc(sc.ticket || '') + '</div>' +
    '<div class="screen" title="' + esc(sc.text) + '">' + pic + '</div>' +
    (wanted && sc.ticket !== wanted ? '<div class="mismatch" data-field="mismatch">应显示 should show ' + esc(wanted) + '</div>' : '');
}

/** Draws each screen picture from its packed rows (1 bit a pixel, MSB leftmost), lit pixels amber on black like the LED strip. */
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

/** A bad rating as the hall reads it: Chinese first, English beside. */
function alertText(a) { return '差评提醒 Bad rating — 窗口 ' + String(a.counter).toUpperCase() + ' · ' + a.ticket + ' · ' + a.level; }

function renderAlerts() {
  const all = [...windows.values()].flatMap((w) => w.alerts || []).sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  $('alerts').hidden = all.length === 0;
  $('alert-count').textContent = all.length;
  $('alert-list').innerHTML = all.map((a) => '<li data-record="' + esc(a.record) + '"><time>' + esc(hallTime(a.receivedAt)) + '</time><b>' + esc(alertText(a)) + '</b> <span class="row">' +
    esc(a.levelEn) + (a.officer ? ' · 办理人 officer ' + esc(a.officer) : '') + (a.caseNo ? ' · 办件编号 case ' + esc(a.caseNo) : '') + (a.item ? ' · 事项 item ' + esc(a.item) : '') + (a.early ? ' · 过早按键 early press' : '') + '</span></li>').join('');
}

/** A window update brought alerts the page had not shown yet: say so at once. */
function announceNew(before, w) {
  const known = new Set(((before && before.alerts) || []).map((a) => a.id));
  for (const a of w.alerts || []) if (!known.has(a.id)) toast(alertText(a));
}

/** How badly a window needs a technician: offline first, then a dead display, other faults, overtime, bad ratings. */
function severity(w) {
  const s = w.state;
  if (!(w.online && w.connected !== false)) return 0;
  if (w.screen && (w.screen.fault || w.screen.text === null)) return 1;
  if (s && s.faults && s.faults.length) return 2;
  if (s && s.overtime === 'over') return 3;
  if (s && s.overtime === 'warning') return 4;
  if (w.alerts && w.alerts.length) return 5;
  return 6;
}
function ordered() { return [...windows.values()].sort((a, b) => severity(a) - severity(b) || a.counter.localeCompare(b.counter)); }

function renderSummary() {
  const list = [...windows.values()];
  const offline = list.filter((w) => severity(w) === 0).length;
  const faulty = list.filter((w) => severity(w) === 1 || severity(w) === 2).length;
  const over = list.filter((w) => severity(w) === 3 || severity(w) === 4).length;
  $('summary').innerHTML = '<span data-field="online-count">在线 online ' + (list.length - offline) + '</span>' +
    '<span data-field="offline-count" class="' + (offline ? 'bad' : '') + '">离线 offline ' + offline + '</span>' +
    '<span data-field="fault-count" class="' + (faulty ? 'bad' : '') + '">故障 fault ' + faulty + '</span>' +
    '<span data-field="overtime-count" class="' + (over ? 'warn' : '') + '">超时 overtime ' + over + '</span>';
}

/** Where the keyboard focus was (a tile's button), so a redraw can put it back. */
function focusKey() {
  const a = document.activeElement;
  const t = a && a.closest ? a.closest('[data-counter]') : null;
  return t && a.dataset.action ? { counter: t.dataset.counter, action: a.dataset.action } : null;
}
function restoreFocus(k) {
  if (!k) return;
  const b = document.querySelector('[data-counter="' + CSS.escape(k.counter) + '"] button[data-action="' + k.action + '"]');
  if (b && document.activeElement !== b) b.focus();
}

/** One window changed: only its tile is redrawn, and only if what it shows changed; the order is redone only if it moved. */
function renderWindow(counter) {
  const order = ordered().map((w) => w.counter);
  const shown = [...$('tiles').children].map((el) => el.dataset.counter);
  if (order.join() !== shown.join()) return render();
  const el = $('tiles').querySelector('[data-counter="' + CSS.escape(counter) + '"]');
  const html = tile(windows.get(counter));
  if (el && el.dataset.html !== html) {
    const k = focusKey();
    const tmp = document.createElement('div');
    tmp.innerHTML = html;
    const next = tmp.firstElementChild;
    next.dataset.html = html;
    el.replaceWith(next);
    drawScreens(next);
    restoreFocus(k);
  }
  renderSummary();
  renderAlerts();
}

function render() {
  const k = focusKey();
  const list = ordered();
  $('tiles').innerHTML = list.map(tile).join('');
  for (const el of $('tiles').children) el.dataset.html = tile(windows.get(el.dataset.counter));
  drawScreens($('tiles'));
  restoreFocus(k);
  renderSummary();
  renderAlerts();
  renderBridge();
}

function renderBridge() {
  const b = bridge;
  $('bridge-state').textContent = 'central: ' + (b ? b.state : 'unknown');
  $('bridge-state').className = 'pill ' + (b && b.state === 'connected' ? 'ok' : b ? 'bad' : '');
  $('backlog').textContent = 'backlog: ' + (b ? b.backlog : '–');
}

function addFeed(e) {
  const li = document.createElement('li');
  li.innerHTML = '<time datetime="' + esc(e.ts) + '">' + esc(hallTime(e.ts)) + '</time><b>' + esc(e.counter) + '</b> ' + esc(e.type) + (e.ticket ? ' ' + esc(e.ticket) : '') + (e.detail ? ' · ' + esc(e.detail) : '');
  $('feed').prepend(li);
  while ($('feed').children.length > 200) $('feed').lastChild.remove();
}

/** The voice caller's last announcements, newest first; its status in Chinese with English beside. */
let announcements = [];
const SAID = { queued: '排队 queued', said: '已播报 said', quiet: '静音时段 quiet hours', silent: '无语音 no voice', late: '等待过久未播 too late, dropped', failed: '播放失败 failed' };
function renderAnnouncer(a) {
  $('announcer').hidden = a === null;
  if (a === null) return;
  $('announcer-problem').hidden = a.working;
  $('announcer-problem').textContent = a.working ? '' : '播报器不可用 announcer not working: ' + (a.problem || '');
  $('announcements').innerHTML = announcements.map((x) => '<li data-id="' + esc(x.id) + '"><time>' + esc(x.localTime) + '</time><b>' + esc(x.text) + '</b>' +
    (x.textEn ? ' <span class="en">' + esc(x.textEn) + '</span>' : '') + ' <span class="row">' + esc(SAID[x.status] || x.status) + (x.type === 'recalled' ? ' · 重呼 recall' : '') +
    (x.missing.length ? ' · 缺少语音 missing clips: ' + esc(x.missing.join(' ')) : '') + (x.error ? ' · ' + esc(x.error) : '') + '</span></li>').join('');
}
function addAnnouncement(m) {
  const a = m.announcement;
  const i = announcements.findIndex((x) => x.id === a.id);
  if (i >= 0) announcements[i] = a; else announcements = [a, ...announcements].slice(0, 20);
  renderAnnouncer({ working: m.health.working, problem: m.health.problem });
}

async function load() {
  const r = await fetch('api/hall');
  const snap = await r.json();
  windows.clear();
  for (const w of snap.windows) windows.set(w.counter, w);
  bridge = snap.bridge;
  if (snap.timeZone) hallZone = snap.timeZone;
  showQuarantine(snap.quarantined);
  loggedIn = snap.session !== null;
  showSession(snap.session);
  announcements = snap.announcer ? snap.announcer.recent : [];
  renderAnnouncer(snap.announcer);
  render();
}

function showQuarantine(n) {
  $('quarantine').hidden = !n;
  $('quarantine').textContent = 'quarantined: ' + n;
}

function showSession(user) {
  $('who').textContent = user ? 'technician ' + user : '';
  $('user').hidden = $('pass').hidden = $('login-btn').hidden = Boolean(user);
  $('logout-btn').hidden = !user;
}

function connect() {
  const es = new EventSource('api/live');
  // The snapshot is read once the stream is open (and again after each reconnect): a change between a snapshot read first and the stream opening would be lost.
  es.addEventListener('open', () => { $('hub-state').textContent = 'hub: live'; $('hub-state').className = 'pill ok'; load().catch((e) => toast('cannot reach the hub: ' + e.message)); });
  es.addEventListener('error', () => {
    $('hub-state').className = 'pill bad';
    // A refused stream (503: the hub's live streams are full) is not retried by EventSource itself.
    if (es.readyState === EventSource.CLOSED) { $('hub-state').textContent = '实时推送已满，30 秒后重试 · live view full, retrying in 30 s'; setTimeout(connect, 30000); return; }
    $('hub-state').textContent = 'hub: reconnecting…';
  });
  es.addEventListener('window', (m) => { const w = JSON.parse(m.data); announceNew(windows.get(w.counter), w); windows.set(w.counter, w); renderWindow(w.counter); });
  es.addEventListener('hall', (m) => { const h = JSON.parse(m.data); bridge = h.bridge; renderBridge(); });
  es.addEventListener('event', (m) => addFeed(JSON.parse(m.data)));
  es.addEventListener('announcement', (m) => addAnnouncement(JSON.parse(m.data)));
  es.addEventListener('quarantine', (m) => showQuarantine(JSON.parse(m.data).total));
  es.addEventListener('snapshot', () => load());
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await fetch('api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('user').value, password: $('pass').value }) });
  const body = await r.json();
  if (!r.ok) { toast(body.error || 'login failed'); return; }
  $('pass').value = '';
  loggedIn = true; showSession(body.username); render();
});
$('logout-btn').addEventListener('click', async () => { await fetch('api/logout', { method: 'POST' }); loggedIn = false; showSession(null); render(); });
$('tiles').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const counter = b.closest('[data-counter]').dataset.counter;
  b.disabled = true;
  try {
    const r = await fetch('api/windows/' + encodeURIComponent(counter) + '/' + b.dataset.action, { method: 'POST' });
    const body = await r.json();
    toast(r.ok ? counter + ': ' + b.dataset.action + ' ' + (body.ok ? 'done' : 'refused: ' + body.code + ' ' + (body.message || '')) : body.error);
  } finally { b.disabled = false; }
});
setInterval(() => {
  for (const el of document.querySelectorAll('[data-started]')) { const t = Number(el.dataset.started); if (t) el.textContent = fmtMs(Date.now() - t); }
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = ago(el.dataset.since);
}, 1000);
connect();
`
