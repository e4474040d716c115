import { SCORE_LABELS } from '../../edge/protocol/index.ts'
import { DRAW_SCREENS_SCRIPT } from './screen-canvas.ts'
import { HALL_TIME_SCRIPT } from './hall-time.ts'
import { faultWordTable } from './fault-words.ts'

/**
 * One window in detail, at `/window/{counter}`: what its display shows,
 * what it is doing, its faults with what to do, its last events, its link
 * and devices. Self-contained like the dashboard (no build step, no CDN),
 * live from the same EventSource stream. Language as the dashboard keeps it:
 * `?lang=` first, else localStorage `counter-edge.lang`, else zh-CN; the
 * chosen language is the page's (document lang, full size) and the other one
 * stands beside it, small, in a span with its own lang.
 */
export function windowPage(hall: string, counter: string): string {
  const scores = Object.fromEntries(Object.entries(SCORE_LABELS).map(([k, v]) => [k, [v.national, v.en]]))
  const config = JSON.stringify({ hall, counter, faults: faultWordTable(), scores }).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>窗口 ${escapeHtml(counter)} · Window ${escapeHtml(counter)} · ${escapeHtml(hall)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <a id="back" href="../">←</a>
  <h1 id="title"></h1>
  <span class="pill" id="hub-state"></span>
  <button type="button" id="lang-switch"></button>
</header>
<main>
  <div id="stale" class="card wide" role="alert" hidden></div>
  <section aria-labelledby="h-screen" class="card" id="screen-card"><h2 id="h-screen"></h2><div id="screen"></div></section>
  <section aria-labelledby="h-state" class="card"><h2 id="h-state"></h2><dl id="state"></dl></section>
  <section aria-labelledby="h-faults" class="card"><h2 id="h-faults"></h2><ul id="faults"></ul></section>
  <section aria-labelledby="h-link" class="card"><h2 id="h-link"></h2><dl id="link"></dl></section>
  <section aria-labelledby="h-events" class="card wide"><h2 id="h-events"></h2><ol id="events" aria-live="polite"></ol></section>
</main>
<script>
const CONFIG = ${config};
${DRAW_SCREENS_SCRIPT}
${HALL_TIME_SCRIPT}
${CLIENT_SCRIPT}
</script>
</body>
</html>
`
}

/** A counter the hall does not know: said in Chinese and English, with the way back. */
export function unknownWindowPage(hall: string, counter: string): string {
  const c = escapeHtml(counter.slice(0, 64))
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>找不到窗口 · No such window</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">找不到窗口 <span class="alt" lang="en">No such window</span></h1></header>
<main><section class="card wide" aria-labelledby="h-missing">
  <h2 id="h-missing" data-field="not-found">大厅 ${escapeHtml(hall)} 没有窗口“${c}” <span class="alt" lang="en">Hall ${escapeHtml(hall)} has no window "${c}"</span></h2>
  <p>该窗口从未连接过本服务器，也不在本大厅的凭据中。请检查地址。 <span class="alt" lang="en">No board for it has been seen by this hub and none is provisioned for this hall. Check the address.</span></p>
  <p><a href="../">返回大厅总览 <span class="alt" lang="en">Back to the hall dashboard</span></a></p>
</section></main>
</body>
</html>
`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

// Colours: every text/background pair here is at least 4.5:1 (muted #555 on white 7.5:1, #8a5200 on white 6.3:1, #b3261e on white 6.5:1).
const STYLE = `
  :root { --ok: #1b7f3b; --warn: #8a5200; --bad: #b3261e; --muted: #555; --bg: #f5f6f8; --card: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; background: var(--bg); color: #1d1d1f; }
  header { display: flex; align-items: center; gap: 14px; padding: 12px 20px; background: #1f2a37; color: #fff; flex-wrap: wrap; }
  header a { color: #fff; font-size: 20px; text-decoration: none; }
  header h1 { font-size: 20px; margin: 0; }
  header .alt { color: #d0d7de; } .pill .alt { color: #fff; }
  #lang-switch { margin-left: auto; padding: 4px 12px; border-radius: 4px; border: 1px solid #fff; background: #fff; color: #1f2a37; cursor: pointer; }
  .pill { padding: 3px 10px; border-radius: 999px; font-size: 14px; background: #394656; color: #fff; }
  .pill.ok { background: var(--ok); color: #fff; } .pill.bad { background: var(--bad); color: #fff; }
  #stale { background: #fdecea; border: 2px solid var(--bad); color: var(--bad); font-weight: 600; }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 16px; padding: 16px 20px; }
  .card { background: var(--card); border-radius: 8px; padding: 14px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .card.wide { grid-column: 1 / -1; }
  h2 { font-size: 17px; margin: 0 0 10px; }
  .alt { color: var(--muted); font-size: .8em; font-weight: 400; margin-left: .35em; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; margin: 0; }
  dt { color: var(--muted); } dd { margin: 0; font-weight: 600; }
  .bad { color: var(--bad); } .warn { color: var(--warn); } .ok { color: var(--ok); }
  .screen-box { background: #111; border-radius: 4px; padding: 6px; }
  .screen-box canvas { display: block; width: 100%; height: auto; image-rendering: pixelated; image-rendering: crisp-edges; }
  .screen-text { color: #ffb000; font: 600 18px/1.3 system-ui, "Noto Sans CJK SC", sans-serif; white-space: pre-line; }
  .screen-text.blank { color: #bbb; font-weight: 400; }
  #faults, #events { margin: 0; padding: 0; list-style: none; }
  #faults li { padding: 6px 0; border-bottom: 1px solid #eee; }
  #faults .hint { color: #1d1d1f; font-weight: 400; }
  #events li { padding: 4px 0; border-bottom: 1px solid #eee; }
  #events time { color: var(--muted); margin-right: 8px; font-variant-numeric: tabular-nums; }
  p { margin: 0 0 10px; }
`

// Plain browser JavaScript (no bundler), like the dashboard's.
const CLIENT_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const LANG_KEY = 'counter-edge.lang';
const LANGS = ['zh-CN', 'en'];
function chosenLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (LANGS.includes(q)) return q;
  let kept = null;
  try { kept = localStorage.getItem(LANG_KEY); } catch (e) { kept = null; }
  return LANGS.includes(kept) ? kept : 'zh-CN';
}
let lang = chosenLang();
function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]); }
/** Words in both languages: the page's language first and full size, the other beside it, small, in its own lang. */
function T(zh, en) {
  const first = lang === 'en' ? en : zh, other = lang === 'en' ? zh : en, otherLang = lang === 'en' ? 'zh-CN' : 'en';
  return esc(first) + '<span class="alt" lang="' + otherLang + '">' + esc(other) + '</span>';
}
/** The same, as plain text (an aria-label, a title). */
function Tplain(zh, en) { return lang === 'en' ? en + ' / ' + zh : zh + ' / ' + en; }

const MODES = { closed: ['窗口关闭', 'window closed'], idle: ['空闲', 'idle'], calling: ['叫号中', 'calling'], serving: ['办理中', 'serving'], evaluating: ['评价中', 'rating'], paused: ['暂停', 'paused'] };
const OVERTIME = { none: ['未超时', 'on time'], warning: ['即将超时', 'nearly overtime'], over: ['已超时', 'overtime'] };
const OFFLINE = { will: ['连接中断', 'connection lost'], stop: ['已关机', 'shut down'], restart: ['重启中', 'restarting'], upgrade: ['升级中', 'upgrading'], fault: ['故障停机', 'stopped on a fault'] };
const HEALTH = { ok: ['正常', 'ok'], fault: ['故障', 'fault'], absent: ['未连接', 'absent'] };
const EVENTS = {
  called: ['叫号', 'called'], recalled: ['重呼', 'recalled'], 'no-show': ['过号', 'no-show'], 'service-started': ['开始办理', 'service started'],
  'service-finished': ['办理结束', 'service finished'], evaluated: ['评价', 'rated'], 'evaluation-missed': ['未评价', 'no rating'], 'rating-alert': ['差评提醒', 'bad rating'],
  'capture-done': ['抓拍完成', 'capture done'], 'capture-failed': ['抓拍失败', 'capture failed'], overtime: ['超时', 'overtime'], 'help-requested': ['请求协助', 'help requested'],
  'officer-key': ['工作人员按键', 'officer key'], paused: ['暂停', 'paused'], resumed: ['恢复', 'resumed'], fault: ['故障', 'fault'], 'fault-cleared': ['故障恢复', 'fault cleared'],
  'service-transferred': ['转办', 'transferred'], 'service-parked': ['挂起', 'parked'], 'signed-in': ['签到', 'signed in'], 'signed-out': ['签退', 'signed out'],
  'call-unanswered': ['叫号无人应答', 'call unanswered'], 'pause-overtime': ['暂停超时', 'pause over its limit'],
};
function words(table, key) { const w = table[key]; return w ? T(w[0], w[1]) : esc(key); }

function agoWords(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return [s + ' 秒前', s + ' s ago'];
  if (s < 3600) return [Math.floor(s / 60) + ' 分钟前', Math.floor(s / 60) + ' min ago'];
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return [h + ' 小时 ' + m + ' 分钟前', h + ' h ' + m + ' min ago'];
}
function ago(iso) { const w = agoWords(Date.now() - Date.parse(iso)); return T(w[0], w[1]); }
function duration(ms) { const s = Math.max(0, Math.floor(ms / 1000)); return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0'); }

let win = null;
let events = [];
let loggedIn = false;

function row(field, zh, en, value, cls) { return '<dt>' + T(zh, en) + '</dt><dd data-field="' + field + '"' + (cls ? ' class="' + cls + '"' : '') + '>' + value + '</dd>'; }

function renderHeader() {
  document.documentElement.lang = lang;
  document.title = Tplain('窗口 ' + CONFIG.counter, 'Window ' + CONFIG.counter) + ' · ' + CONFIG.hall;
  $('title').innerHTML = T('窗口 ' + CONFIG.counter, 'Window ' + CONFIG.counter) + ' · ' + T('大厅 ' + CONFIG.hall, 'hall ' + CONFIG.hall);
  $('back').setAttribute('aria-label', Tplain('返回大厅总览', 'back to the hall dashboard'));
  $('back').title = Tplain('返回大厅总览', 'back to the hall dashboard');
  const b = $('lang-switch');
  b.textContent = lang === 'en' ? '中文' : 'English';
  b.lang = lang === 'en' ? 'zh-CN' : 'en';
  b.setAttribute('aria-label', lang === 'en' ? '切换到中文 · switch to Chinese' : 'Switch to English · 切换到英文');
  $('h-screen').innerHTML = T('窗口屏（申请人所见）', 'Window screen (as applicants see it)');
  $('h-state').innerHTML = T('状态', 'State');
  $('h-faults').innerHTML = T('当前故障', 'Current faults');
  $('h-link').innerHTML = T('链路与设备', 'Link and devices');
  $('h-events').innerHTML = T('最近事件', 'Last events');
}

function renderScreen() {
  const sc = win && win.screen;
  let html;
  if (!win) html = '';
  else if (!sc) html = '<p data-field="screen-unknown">' + T('显示内容未知：板卡尚未报告其显示屏内容', 'unknown: the board has not said what its display shows') + '</p>';
  else if (sc.fault || sc.text === null) html = '<p class="bad" data-field="screen-fault">' + T('显示屏故障，申请人看不到任何内容', 'display fault: applicants see nothing') + (sc.fault ? ' · ' + esc(sc.fault.code) + ': ' + esc(sc.fault.message) : '') + '</p>';
  else if (sc.picture) html = '<div class="screen-box"><canvas data-field="screen" data-bits="' + esc(sc.picture.bits) + '" width="' + sc.picture.width + '" height="' + sc.picture.height + '" role="img" aria-label="' + esc(Tplain('窗口屏显示', 'the screen shows') + ': ' + sc.text.replace(/\n/g, ' / ')) + '"></canvas></div>';
  else if (sc.text === '') html = '<div class="screen-box"><div class="screen-text blank" data-field="screen">' + T('（空白）', '(blank)') + '</div></div>';
  else html = '<div class="screen-box"><div class="screen-text" data-field="screen">' + esc(sc.text) + '</div></div>';
  $('screen').innerHTML = html;
  drawScreens($('screen'));
}


function online(w) { return w.online && w.connected !== false; }

function renderState() {
  if (!win) { $('state').innerHTML = ''; return; }
  const s = win.state;
  const on = online(win);
  let conn;
  if (on) conn = '<span class="ok">' + T('在线', 'online') + '</span>' + (win.since ? ' · ' + T('自', 'since') + ' ' + esc(hallTime(win.since)) : '');
  else {
    const reason = win.online && win.connected === false ? T('未连接', 'not connected') : win.offlineReason ? words(OFFLINE, win.offlineReason) : T('离线', 'offline');
    conn = '<span class="bad">' + T('离线', 'offline') + ' · ' + reason + '</span>' + (win.since ? ' · ' + T('自', 'since') + ' ' + esc(hallTime(win.since)) + ' · <span data-since="' + esc(win.since) + '">' + ago(win.since) + '</span>' : '');
  }
  const mode = s ? words(MODES, s.mode) + (s.pause ? ' · ' + esc(s.pause.label || s.pause.reason) : '') : T('未知', 'unknown');
  const ticket = s && s.ticket ? esc(s.ticket.number) + (s.ticket.green ? ' · ' + T('绿色通道', 'green channel') : '') : '–';
  const officer = s && s.officer ? esc(s.officer.name || s.officer.id) + (s.officer.name ? ' <span class="alt">' + esc(s.officer.id) + '</span>' : '')
    : win.officerHidden ? T('已签到（登录后显示姓名）', 'signed in (name shown after a technician login)') : '–';
  const started = on && s && s.ticket && win.serviceStartedAt ? Date.parse(win.serviceStartedAt) : null;
  const ot = s ? s.overtime : 'none';
  const overtime = '<span class="' + (ot === 'over' ? 'bad' : ot === 'warning' ? 'warn' : '') + '">' + words(OVERTIME, ot) + '</span>';
  $('state').innerHTML =
    row('online', '连接', 'connection', conn) +
    row('mode', on ? '模式' : '最后已知模式', on ? 'mode' : 'last known mode', mode) +
    row('ticket', '当前号码', 'ticket', ticket) +
    row('officer', '工作人员', 'officer', officer) +
    row('elapsed', '办理时长', 'service time', started ? '<span data-started="' + started + '">' + duration(hubNow() - started) + '</span>' : '–') +
    row('overtime', '超时', 'overtime', overtime, ot !== 'none' ? 'overtime-' + ot : '') +
    row('rating', '最近评价', 'last rating', win.lastRating ? words(CONFIG.scores, win.lastRating.score) + ' (' + esc(win.lastRating.ticket) + ')' : '–');
}

function faultWords(code) {
  return CONFIG.faults[code] || { zh: '故障 ' + code, en: 'fault ' + code, hintZh: '查看故障信息，并运行自检', hintEn: 'read the fault message and run a self-test' };
}

function renderFaults() {
  if (!win) { $('faults').innerHTML = ''; return; }
  const list = ((win.state && win.state.faults) || []).slice();
  const sc = win.screen;
  if (sc && sc.fault && !list.some((f) => f.device === sc.device && f.code === sc.fault.code)) list.push({ device: sc.device, code: sc.fault.code, message: sc.fault.message, since: null });
  if (list.length === 0) { $('faults').innerHTML = '<li data-field="no-faults" class="ok">' + T('无故障', 'no faults') + '</li>'; return; }
  $('faults').innerHTML = list.map((f) => {
    const w = faultWords(f.code);
    return '<li data-field="fault" data-code="' + esc(f.code) + '"><div class="bad"><b>' + esc(f.device) + '</b>: ' + T(w.zh, w.en) + ' <span class="alt">(' + esc(f.code) + (f.message ? ' · ' + esc(f.message) : '') + ')</span></div>' +
      '<div class="hint" data-field="hint">' + T('处理建议：' + w.hintZh, 'What to do: ' + w.hintEn) + '</div>' +
      (f.since ? '<div class="alt">' + T('自', 'since') + ' ' + esc(hallTime(f.since)) + ' · <span data-since="' + esc(f.since) + '">' + ago(f.since) + '</span></div>' : '') + '</li>';
  }).join('');
}

function renderLink() {
  if (!win) { $('link').innerHTML = ''; return; }
  const t = win.telemetry;
  const j = t && t.journal;
  // Devices that need a look first, each by name; the healthy ones counted, their names small.
  let devices = '–';
  if (t) {
    const all = Object.entries(t.devices);
    const bad = all.filter(([, h]) => h !== 'ok');
    const ok = all.filter(([, h]) => h === 'ok').map(([name]) => name);
    devices = bad.map(([name, h]) => '<span data-device="' + esc(name) + '" class="bad">' + esc(name) + ' ' + words(HEALTH, h) + '</span>').join(' · ') +
      (ok.length ? (bad.length ? '<br>' : '') + '<span data-field="devices-ok">' + T(ok.length + ' 个正常', ok.length + ' ok') + '</span> <span class="alt">' + esc(ok.join(', ')) + '</span>' : '');
  }
  $('link').innerHTML =
    row('journal-depth', '待确认记录', 'journal depth', j ? String(j.depth) : '–', j && j.depth > 0 ? 'warn' : '') +
    row('journal-oldest', '最早待确认', 'oldest waiting', j && j.oldestAgeMs !== null ? esc(duration(j.oldestAgeMs)) : '–') +
    row('rtt', '链路往返', 'link round trip', t && t.rttMs !== null ? esc(Math.round(t.rttMs)) + ' ms' : '–') +
    row('devices', '设备状态', 'devices', devices) +
    row('telemetry-at', '遥测时间', 'telemetry at', t ? esc(hallTime(t.ts)) : '–') +
    row('version', '软件版本', 'version', esc(win.version || '–')) +
    row('board', '板卡型号', 'board profile', esc(win.board || '–'));
}

function renderEvents() {
  $('events').innerHTML = events.length === 0 ? '<li data-field="no-events">' + T('暂无事件', 'no events yet') + '</li>' : events.map((e) =>
    '<li data-seq="' + e.seq + '"><time datetime="' + esc(e.ts) + '">' + esc(hallTime(e.ts)) + '</time>' + words(EVENTS, e.type) + (e.ticket ? ' <b>' + esc(e.ticket) + '</b>' : '') + (e.detail ? ' · ' + esc(e.detail) : '') + '</li>').join('');
}

function render() { renderHeader(); renderScreen(); renderState(); renderFaults(); renderLink(); renderEvents(); }

const base = '../api/';
async function load() {
  const [wr, fr] = await Promise.all([fetch(base + 'windows/' + encodeURIComponent(CONFIG.counter)), fetch(base + 'feed?counter=' + encodeURIComponent(CONFIG.counter) + '&limit=50')]);
  const wb = await wr.json();
  if (!wr.ok) throw new Error(wb.error || wr.status);
  const fb = await fr.json();
  win = wb.window;
  loggedIn = wb.session !== null;
  setHallZone(wb.timeZone);
  setHubTime(wb.at);
  // Events the stream brought while the history was on its way are kept, each once.
  const seen = new Set(fb.entries.map((e) => e.seq));
  events = [...events.filter((e) => !seen.has(e.seq)), ...fb.entries].sort((a, b) => b.seq - a.seq).slice(0, 50);
  render();
}

/** What the hub pill says, kept so a language switch can say it again; state: 'connecting', 'live', 'stale', 'reconnecting', 'full' or 'error'. */
let hub = { state: 'connecting', zh: '连接中…', en: 'connecting…' };
function setHub(state, zh, en) {
  hub = { state, zh, en };
  const h = $('hub-state');
  h.innerHTML = T(zh, en);
  h.className = 'pill ' + (state === 'live' ? 'ok' : state === 'connecting' ? '' : 'bad');
  h.dataset.state = state;
  // What this page shows is what the hub last said: once it says nothing, the page says so, with since when.
  const stale = (state === 'stale' || state === 'reconnecting') && lastFrame > 0;
  $('stale').hidden = !stale;
  $('stale').innerHTML = stale ? T('画面可能已过时：自 ' + hallTime(new Date(lastFrame).toISOString()) + ' 起未收到集线器的更新', 'This view may be out of date: nothing from the hub since ' + hallTime(new Date(lastFrame).toISOString())) : '';
}

let es = null;
/** When the hub was last heard on the stream (any frame, its pings every 5 s included), and when a stream was last opened. */
let lastFrame = 0;
let lastAttempt = 0;
/** Three pings missed: the link is dead though nothing closed it (a pulled cable, a dropped Wi-Fi); EventSource itself would wait for ever. */
const STALE_MS = 16000;
const RETRY_MS = 3000;
function connect() {
  if (es) es.close();
  lastAttempt = Date.now();
  es = new EventSource(base + 'live');
  const source = es;
  const heard = () => { if (source === es) lastFrame = Date.now(); };
  for (const name of ['open', 'ping', 'window', 'hall', 'event', 'announcement', 'quarantine', 'snapshot']) es.addEventListener(name, heard);
  es.addEventListener('open', () => { setHub('live', '实时', 'live'); load().catch((e) => setHub('error', '无法读取窗口', 'cannot read the window: ' + e.message)); });
  es.addEventListener('error', () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) { setHub('full', '实时推送已满，30 秒后重试', 'live view full, retrying in 30 s'); setTimeout(connect, 30000); return; }
    setHub('reconnecting', '重新连接中…', 'reconnecting…');
  });
  es.addEventListener('window', (m) => { const w = JSON.parse(m.data); if (w.counter !== CONFIG.counter) return; win = w; renderScreen(); renderState(); renderFaults(); renderLink(); });
  es.addEventListener('event', (m) => {
    const e = JSON.parse(m.data);
    if (e.counter !== CONFIG.counter || events.some((x) => x.seq === e.seq)) return;
    events = [e, ...events].slice(0, 50);
    renderEvents();
  });
  es.addEventListener('snapshot', () => load());
}

$('lang-switch').addEventListener('click', () => {
  lang = lang === 'en' ? 'zh-CN' : 'en';
  try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* a private window may refuse storage: the switch still holds for this page */ }
  const u = new URL(location.href);
  if (u.searchParams.has('lang')) { u.searchParams.set('lang', lang); history.replaceState(null, '', u); }
  render();
  setHub(hub.state, hub.zh, hub.en);
});
setInterval(() => {
  const quiet = Date.now() - lastFrame;
  if (hub.state === 'live' && quiet > STALE_MS) setHub('stale', '集线器无响应，重新连接中…', 'hub not answering, reconnecting…');
  if ((hub.state === 'stale' || hub.state === 'reconnecting') && quiet > STALE_MS && Date.now() - lastAttempt > RETRY_MS) connect();
  for (const el of document.querySelectorAll('[data-started]')) { const t = Number(el.dataset.started); if (t) el.textContent = duration(hubNow() - t); }
  for (const el of document.querySelectorAll('[data-since]')) el.innerHTML = ago(el.dataset.since);
}, 1000);
render();
setHub('connecting', '连接中…', 'connecting…');
connect();
`
