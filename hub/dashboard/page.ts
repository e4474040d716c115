import { SCORE_LABELS } from '../../edge/protocol/index.ts'
import { DRAW_SCREENS_SCRIPT } from './screen-canvas.ts'
import { HALL_TIME_SCRIPT } from './hall-time.ts'
import { faultWordTable } from './fault-words.ts'
import { CONFIRM_DIALOG_HTML, CONFIRM_SCRIPT, CONFIRM_STYLE } from './confirm-dialog.ts'
import { CLUSTER_PILL_HTML, CLUSTER_PILL_SCRIPT } from './cluster-view.ts'
import { FLEET_PANEL_HTML, FLEET_PANEL_SCRIPT, FLEET_PANEL_STYLE } from './fleet-panel.ts'

/**
 * The hall dashboard: one self-contained page (no build step, no CDN: the
 * hall network often has no internet). It loads the hall snapshot, then
 * applies live updates from an EventSource, so nothing needs a reload.
 *
 * Every word a person reads comes from one table in the client script (TEXT),
 * in Chinese and English: the language switch picks which is first and full
 * size (and the document's lang); the other stays beside it, small, in a span
 * with its own lang, as the hall's rule asks.
 */
export function dashboardPage(hall: string): string {
  const scores = Object.fromEntries(Object.entries(SCORE_LABELS).map(([k, v]) => [k, { zh: v.national, en: v.en }]))
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>大厅 ${escapeHtml(hall)} · counter-edge</title>
<style>
  /* Every text colour here is at least 4.5:1 on what it stands on (test/e2e/dashboard-language.test.ts runs axe's contrast rule). */
  :root { --ok: #1b7f3b; --warn: #8a5200; --bad: #b3261e; --muted: #595959; --bg: #f5f6f8; --card: #fff; --focus: #1a5fb4; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; background: var(--bg); color: #1d1d1f; overflow-wrap: anywhere; }
  .alt { font-size: .8em; font-weight: 400; color: var(--muted); }
  header .alt, .pill .alt, button .alt, .badge .alt, #summary .alt, #toast .alt, .faults .alt, .offline-since .alt, .mismatch .alt, .alerts-row .alt, #alerts h2 .alt, .ticket .alt { color: inherit; }
  .sr { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 5px #fff; }
  header { display: flex; align-items: center; gap: 10px 16px; padding: 12px 20px; background: #1f2a37; color: #fff; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0 12px 0 0; }
  .pill { padding: 3px 10px; border-radius: 999px; font-size: 13px; background: #394656; color: #fff; }
  .pill.ok { background: var(--ok); } .pill.warn { background: var(--warn); } .pill.bad { background: var(--bad); } .pill.off { background: #80868b; }
  #login { margin-left: auto; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #login input { padding: 4px 6px; border-radius: 4px; border: 1px solid #767676; width: 130px; min-height: 40px; }
  button { padding: 4px 10px; border-radius: 4px; border: 1px solid #767676; background: #fff; color: #1d1d1f; cursor: pointer; min-height: 40px; min-width: 40px; font: inherit; font-size: 14px; }
  button:disabled { opacity: .5; cursor: default; }
  #lang-btn { background: #fff; }
  main { display: grid; grid-template-columns: 1fr 320px; gap: 16px; padding: 16px 20px; }
  main > * { min-width: 0; }
  #tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; align-content: start; }
  .tile { background: var(--card); border-radius: 8px; padding: 12px; border-left: 6px solid var(--ok); box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .tile.offline { border-left-color: var(--bad); background: #fff7f6; }
  .tile.retired { border-left-color: #9aa0a6; background: #f3f4f5; color: #5f6368; }
  .tile.fault { border-left-color: var(--warn); }
  .tile h2 { margin: 0; font-size: 16px; display: flex; justify-content: space-between; gap: 6px; align-items: baseline; }
  .tile h2 code { font-size: 12px; color: var(--muted); }
  .ticket { font: 700 34px/1.1 ui-monospace, "DejaVu Sans Mono", monospace; letter-spacing: 2px; margin: 6px 0; min-height: 38px; }
  .row { color: var(--muted); font-size: 13px; }
  .elapsed.warning { color: var(--warn); font-weight: 600; } .elapsed.over { color: var(--bad); font-weight: 700; }
  .badge { display: inline-block; padding: 0 6px; border-radius: 4px; color: #fff; font-weight: 600; }
  .badge.warning { background: var(--warn); } .badge.over { background: var(--bad); }
  .faults { color: var(--bad); font-size: 13px; font-weight: 600; }
  .fault-item { margin-top: 4px; }
  .hint { color: #1d1d1f; font-weight: 400; }
  .hint .alt { color: var(--muted); }
  #summary { grid-column: 1 / -1; display: flex; gap: 8px; flex-wrap: wrap; font-size: 14px; }
  #summary span[data-field] { background: var(--card); border-radius: 999px; padding: 3px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  #summary .bad { color: #fff; background: var(--bad) !important; } #summary .warn { color: #fff; background: var(--warn) !important; }
  .offline-since { color: var(--bad); font-weight: 600; font-size: 13px; }
  .screen { background: #111; border-radius: 4px; padding: 4px; margin: 6px 0; }
  .screen canvas { display: block; width: 100%; height: auto; image-rendering: pixelated; image-rendering: crisp-edges; }
  .screen-text.blank { color: #9a9a9a; font-weight: 400; }
  .screen-text { color: #ffb000; font: 600 15px/1.3 system-ui, "Noto Sans CJK SC", sans-serif; white-space: pre-line; }
  .screen-text .alt { color: #c8c8c8; }
  .ticket.display-fault { color: var(--bad); font-size: 22px; letter-spacing: 0; }
  .mismatch { color: var(--bad); font-size: 13px; font-weight: 600; }
  .actions { margin-top: 8px; display: flex; gap: 6px; flex-wrap: wrap; }
  aside { background: var(--card); border-radius: 8px; padding: 12px; max-height: calc(100vh - 110px); overflow: auto; }
  aside h2 { font-size: 15px; margin: 0 0 8px; }
  #feed { list-style: none; margin: 0; padding: 0; font-size: 13px; }
  #feed li { padding: 4px 0; border-bottom: 1px solid #eee; }
  #feed time { color: var(--muted); margin-right: 6px; }
  #alerts { grid-column: 1 / -1; background: #fdecea; border: 2px solid var(--bad); border-radius: 8px; padding: 10px 14px; }
  #alerts h2 { margin: 0 0 6px; font-size: 16px; color: var(--bad); }
  #alerts .row, #alerts .alt { color: #4a4a4a; }
  /* A bad day's list (twenty alerts and more) scrolls within itself: the windows stay on the first screen of a phone. */
  #alert-list { list-style: none; margin: 0; padding: 0; max-height: 38vh; overflow-y: auto; }
  #alert-list li { padding: 3px 0; }
  #alert-list time { color: #4a4a4a; margin-right: 6px; }
  .tile.alert { box-shadow: 0 0 0 2px var(--bad); }
  .alerts-row { color: var(--bad); font-size: 13px; font-weight: 600; }
  #announcer h2 { font-size: 15px; margin: 0 0 6px; }
  #announcements { list-style: none; margin: 0 0 12px; padding: 0; font-size: 13px; }
  #announcements li { padding: 3px 0; border-bottom: 1px solid #eee; }
  #announcements time { color: var(--muted); margin-right: 6px; }
  #announcer-problem { color: var(--bad); font-size: 13px; font-weight: 600; }
  #stale { grid-column: 1 / -1; background: #fdecea; border: 2px solid var(--bad); border-radius: 8px; padding: 8px 14px; color: var(--bad); font-weight: 600; }
  #stale .alt { color: #4a4a4a; }
  #toast { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); background: #1f2a37; color: #fff; padding: 8px 14px; border-radius: 6px; display: none; max-width: calc(100vw - 24px); }
  @media (max-width: 800px) {
    main { grid-template-columns: 1fr; padding: 10px; gap: 10px; }
    header { padding: 10px; }
    #login { margin-left: 0; }
    #login input { width: 120px; }
    aside { max-height: none; }
  }
  .tile h2 a { color: inherit; }
${CONFIRM_STYLE}
${FLEET_PANEL_STYLE}
</style>
</head>
<body>
<header>
  <h1><span data-t="hall"></span> <span id="hall">${escapeHtml(hall)}</span></h1>
  <span class="pill" id="hub-state" data-state="connecting"></span>
  <span class="pill" id="bridge-state"></span>
  <span class="pill" id="backlog"></span>
  ${CLUSTER_PILL_HTML}
  <span class="pill warn" id="quarantine" hidden></span>
  <button id="lang-btn" type="button"></button>
  <form id="login" autocomplete="on">
    <span id="who"></span>
    <label class="sr" for="user" id="user-label"></label>
    <input id="user" name="username" autocomplete="username">
    <label class="sr" for="pass" id="pass-label"></label>
    <input id="pass" name="password" type="password" autocomplete="current-password">
    <button id="login-btn" type="submit"></button>
    <button id="logout-btn" type="button" hidden></button>
  </form>
</header>
<main>
  <div id="stale" role="alert" hidden></div>
  <div id="summary" role="status" aria-live="polite"></div>
  <section id="alerts" hidden aria-live="assertive" aria-labelledby="alerts-title">
    <h2 id="alerts-title"><span data-t="alerts.title"></span> (<span id="alert-count">0</span>)</h2>
    <ul id="alert-list" tabindex="0" aria-labelledby="alerts-title"></ul>
  </section>
  <section id="tiles" data-t-label="windows"></section>
  <aside tabindex="0" aria-labelledby="feed-title">
    ${FLEET_PANEL_HTML}
    <section id="announcer" hidden aria-labelledby="announcer-title">
      <h2 id="announcer-title" data-t="announcer.title"></h2>
      <div id="announcer-problem" hidden></div>
      <ul id="announcements"></ul>
    </section>
    <h2 id="feed-title" data-t="feed.title"></h2><ul id="feed" aria-live="polite" aria-relevant="additions" aria-labelledby="feed-title"></ul>
  </aside>
</main>
<div id="toast" role="status"></div>
${CONFIRM_DIALOG_HTML}
<script>
const FAULT_WORDS = ${scriptJson(faultWordTable())};
const SCORE_WORDS = ${scriptJson(scores)};
${CONFIRM_SCRIPT}
${DRAW_SCREENS_SCRIPT}
${HALL_TIME_SCRIPT}
${CLIENT_SCRIPT}
${FLEET_PANEL_SCRIPT}
${CLUSTER_PILL_SCRIPT}
</script>
</body>
</html>
`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** JSON inside a <script>: a "<" could end the element early. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c')
}

// Plain browser JavaScript (no bundler): kept small and dependency-free.
const CLIENT_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const windows = new Map();
let loggedIn = false;
let sessionUser = null;
let bridge = null;
let hubState = 'connecting';
let quarantined = 0;
let announcer = null;
let announcements = [];
/** The feed's items, newest first, kept so a language switch can redraw them. */
const feedItems = [];

/** Every word on the page, Chinese and English. {name} is filled in by tr(). */
const TEXT = {
  'hall': { zh: '大厅', en: 'Hall' },
  'title': { zh: '大厅 {hall} · 窗口设备', en: 'Hall {hall} · counter-edge' },
  'windows': { zh: '窗口', en: 'windows' },
  'window.n': { zh: '{n}号窗口', en: 'window {n}' },
  'window.id': { zh: '窗口 {id}', en: 'window {id}' },
  'lang.toEn': { zh: '改用英文', en: 'Switch to English' },
  'lang.toZh': { zh: '改用中文', en: 'Switch to Chinese' },
  'hub.connecting': { zh: '集线器：连接中…', en: 'hub: connecting…' },
  'hub.live': { zh: '集线器：实时', en: 'hub: live' },
  'hub.reconnecting': { zh: '集线器：重新连接中…', en: 'hub: reconnecting…' },
  'hub.stale': { zh: '集线器：无响应，重新连接中…', en: 'hub: not answering, reconnecting…' },
  'alerts.new': { zh: '{n} 条新差评', en: '{n} new bad ratings' },
  'stale': { zh: '画面可能已过时：自 {t} 起未收到集线器的更新', en: 'This view may be out of date: nothing from the hub since {t}' },
  'hub.full': { zh: '实时推送已满，30 秒后重试', en: 'live view full, retrying in 30 s' },
  'hub.unreachable': { zh: '无法连接集线器：{why}', en: 'cannot reach the hub: {why}' },
  'central': { zh: '中心', en: 'central' },
  'bridge.connected': { zh: '已连接', en: 'connected' },
  'bridge.connecting': { zh: '连接中', en: 'connecting' },
  'bridge.disconnected': { zh: '已断开', en: 'disconnected' },
  'unknown': { zh: '未知', en: 'unknown' },
  'backlog': { zh: '待上传', en: 'backlog' },
  'quarantined': { zh: '已隔离', en: 'quarantined' },
  'quarantine.title': { zh: '本集线器无法接受的设备消息，保存在数据目录的 quarantine.jsonl（见 docs/operations.md）', en: 'Board messages this hub could not accept, kept in quarantine.jsonl in its data directory (docs/operations.md)' },
  'user': { zh: '用户名', en: 'User name' },
  'pass': { zh: '密码', en: 'Password' },
  'user.placeholder': { zh: '技术员', en: 'technician' },
  'login': { zh: '登录', en: 'Log in' },
  'logout': { zh: '退出', en: 'Log out' },
  'login.failed': { zh: '登录失败', en: 'login failed' },
  'technician': { zh: '技术员', en: 'technician' },
  'online': { zh: '在线', en: 'online' },
  'offline': { zh: '离线', en: 'offline' },
  'fault': { zh: '故障', en: 'fault' },
  'overtime': { zh: '超时', en: 'overtime' },
  'offline.will': { zh: '连接中断', en: 'connection lost' },
  'offline.stop': { zh: '已关机', en: 'shut down' },
  'offline.restart': { zh: '重启中', en: 'restarting' },
  'offline.upgrade': { zh: '升级中', en: 'upgrading' },
  'offline.fault': { zh: '故障停机', en: 'stopped on a fault' },
  'offline.revoked': { zh: '已撤销授权，停用；重新开通即可恢复', en: 'credentials revoked: out of service; provision it again to bring it back' },
  'revoked': { zh: '停用', en: 'out of service' },
  'offline.unconnected': { zh: '未连接', en: 'not connected' },
  'offline.other': { zh: '离线', en: 'offline' },
  'since': { zh: '自', en: 'since' },
  'version': { zh: '版本', en: 'version' },
  'upd.downloading': { zh: '下载中', en: 'downloading' },
  'upd.verifying': { zh: '校验中', en: 'verifying' },
  'upd.installing': { zh: '安装中', en: 'installing' },
  'upd.restarting': { zh: '重启中', en: 'restarting' },
  'upd.confirming': { zh: '确认中', en: 'confirming' },
  'upd.confirmed': { zh: '已确认', en: 'confirmed' },
  'upd.rolled-back': { zh: '已回退', en: 'rolled back' },
  'upd.failed': { zh: '升级失败', en: 'update failed' },
  'officerHidden': { zh: '已签到（登录后显示姓名）', en: 'signed in (name shown after login)' },
  'unit.s': { zh: '秒', en: 's' },
  'unit.min': { zh: '分钟', en: 'min' },
  'unit.h': { zh: '小时', en: 'h' },
  'lastKnown': { zh: '最后已知', en: 'last known' },
  'mode.closed': { zh: '已关闭', en: 'closed' },
  'mode.idle': { zh: '空闲', en: 'idle' },
  'mode.calling': { zh: '叫号中', en: 'calling' },
  'mode.serving': { zh: '办理中', en: 'serving' },
  'mode.evaluating': { zh: '评价中', en: 'evaluating' },
  'mode.paused': { zh: '暂停', en: 'paused' },
  'mode.unknown': { zh: '状态未知', en: 'state unknown' },
  'green': { zh: '绿色通道', en: 'green channel' },
  'serviceTime': { zh: '办理时长', en: 'service time' },
  'overtime.warning': { zh: '即将超时', en: 'nearly overtime' },
  'overtime.over': { zh: '已超时', en: 'overtime' },
  'unanswered': { zh: '叫号无人应答', en: 'call unanswered' },
  'pauseOver': { zh: '暂停超时', en: 'pause over its limit' },
  'officer': { zh: '办理人', en: 'officer' },
  'lastRating': { zh: '最近评价', en: 'last rating' },
  'journal': { zh: '待发送记录', en: 'journal backlog' },
  'alertsToday': { zh: '今日差评', en: 'bad ratings today' },
  'help.asked': { zh: '请求值班领导', en: 'asks for the duty supervisor' },
  'help.count': { zh: '请求协助', en: 'asking for help' },
  'whatToDo': { zh: '处理', en: 'what to do' },
  'fault.unknown': { zh: '故障 {code}', en: 'fault {code}' },
  'fault.unknown.hint': { zh: '查看窗口详情中的故障信息，并运行自检', en: 'read the fault message in the window detail and run a self-test' },
  'screen': { zh: '窗口屏', en: 'screen' },
  'screen.unknown': { zh: '显示内容未知', en: 'the board has not said what its display shows' },
  'screen.blank': { zh: '空白', en: 'blank' },
  'display.fault': { zh: '显示屏故障', en: 'Display fault' },
  'display.nothing': { zh: '显示屏无内容', en: 'shows nothing' },
  'shouldShow': { zh: '应显示', en: 'should show' },
  'cannotSee': { zh: '申请人看不到', en: 'applicants cannot see it' },
  'act.identify': { zh: '识别', en: 'Identify' },
  'act.self-test': { zh: '自检', en: 'Self-test' },
  'act.sync': { zh: '同步', en: 'Sync' },
  'act.done': { zh: '{w}：{a}完成', en: '{w}: {a} done' },
  'act.refused': { zh: '{w}：{a}被拒绝 — {why}', en: '{w}: {a} refused — {why}' },
  'err.wrong-mode': { zh: '窗口当前状态不能执行此操作', en: 'the window is not in a mode for this' },
  'err.busy': { zh: '设备正忙，请稍后再试', en: 'the device is busy; try again shortly' },
  'err.not-ready': { zh: '设备尚未就绪', en: 'the board or a device is not ready yet' },
  'err.device-fault': { zh: '设备故障', en: 'a device is faulty' },
  'err.unsupported': { zh: '此窗口设备不支持', en: 'this board does not support it' },
  'err.expired': { zh: '窗口板时钟比集线器快，命令一到就被判为过期：请检查它的时间同步（NTP）', en: "the board's clock runs ahead of the hub's, so it took the command as already expired: check its time sync (NTP)" },
  'err.internal': { zh: '设备内部错误', en: 'internal error on the board' },
  'err.limit-reached': { zh: '已达上限', en: 'a limit was reached' },
  'err.unknown-counter': { zh: '未知窗口', en: 'unknown window' },
  'alerts.title': { zh: '今日差评提醒 · 待中心跟进', en: 'Bad ratings today · central follows up' },
  'alert.line': { zh: '差评提醒 — {w} · {ticket} · {level}', en: 'Bad rating — {w} · {ticket} · {level}' },
  'caseNo': { zh: '办件编号', en: 'case' },
  'item': { zh: '事项', en: 'item' },
  'early': { zh: '过早按键', en: 'early press' },
  'videoMark': { zh: '录像标记', en: 'video mark' },
  'hubReceived': { zh: '集线器收到', en: 'hub received' },
  'alert.boardUnsynced': { zh: '窗口时钟未校准：此为集线器收到的时间', en: "the window's clock was not set: time the hub received it" },
  'alert.restamped': { zh: '窗口与集线器时钟均未校准：评价不晚于此时', en: 'neither clock was set: rated at or before this time' },
  'alert.timeUnknown': { zh: '时间未知（时钟均未校准）', en: 'time unknown (no clock set yet)' },
  'alert.markBoardClock': { zh: '按窗口未校准的时钟', en: "on the window's unset clock" },
  'announcer.title': { zh: '最近播报', en: 'Last announcements' },
  'announcer.broken': { zh: '播报器不可用', en: 'announcer not working' },
  'said.queued': { zh: '排队', en: 'queued' },
  'said.said': { zh: '已播报', en: 'said' },
  'said.quiet': { zh: '静音时段', en: 'quiet hours' },
  'said.silent': { zh: '无语音', en: 'no voice' },
  'said.late': { zh: '等待过久未播', en: 'too late, dropped' },
  'said.failed': { zh: '播放失败', en: 'failed' },
  'recall': { zh: '重呼', en: 'recall' },
  'missingClips': { zh: '缺少语音', en: 'missing clips' },
  'feed.title': { zh: '实时事件', en: 'Live events' },
  'ev.called': { zh: '叫号', en: 'called' },
  'ev.recalled': { zh: '重呼', en: 'recalled' },
  'ev.no-show': { zh: '过号', en: 'no-show' },
  'ev.service-started': { zh: '开始办理', en: 'service started' },
  'ev.service-finished': { zh: '办理结束', en: 'service finished' },
  'ev.evaluated': { zh: '已评价', en: 'evaluated' },
  'ev.evaluation-missed': { zh: '未评价', en: 'evaluation missed' },
  'ev.capture-done': { zh: '采集完成', en: 'capture done' },
  'ev.capture-failed': { zh: '采集失败', en: 'capture failed' },
  'ev.overtime': { zh: '超时', en: 'overtime' },
  'ev.help-requested': { zh: '请求协助', en: 'help requested' },
  'ev.officer-key': { zh: '办理人按键', en: 'officer key' },
  'ev.paused': { zh: '暂停', en: 'paused' },
  'ev.resumed': { zh: '恢复', en: 'resumed' },
  'ev.fault': { zh: '故障', en: 'fault' },
  'ev.fault-cleared': { zh: '故障消除', en: 'fault cleared' },
  'ev.service-transferred': { zh: '转办', en: 'service transferred' },
  'ev.service-parked': { zh: '挂起', en: 'service parked' },
  'ev.signed-in': { zh: '签到', en: 'signed in' },
  'ev.signed-out': { zh: '签退', en: 'signed out' },
  'ev.call-unanswered': { zh: '叫号无人应答', en: 'call unanswered' },
  'ev.pause-overtime': { zh: '暂停超时', en: 'pause overtime' },
  'ev.rating-alert': { zh: '差评提醒', en: 'bad rating' },
  'outcome.served': { zh: '已办结', en: 'served' },
  'outcome.transferred': { zh: '已转办', en: 'transferred' },
  'outcome.abandoned': { zh: '申请人离开', en: 'abandoned' },
  'capture.photo': { zh: '拍照', en: 'photo' },
  'capture.fingerprint': { zh: '指纹', en: 'fingerprint' },
  'capfail.timeout': { zh: '超时', en: 'timed out' },
  'capfail.busy': { zh: '设备忙', en: 'busy' },
  'capfail.stuck': { zh: '卡住', en: 'stuck' },
  'capfail.not-ready': { zh: '未就绪', en: 'not ready' },
  'capfail.fault': { zh: '故障', en: 'fault' },
  'dev.display': { zh: '显示屏', en: 'display' },
  'dev.key-very-satisfied': { zh: '评价键「非常满意」', en: 'evaluator key "very satisfied"' },
  'dev.key-satisfied': { zh: '评价键「满意」', en: 'evaluator key "satisfied"' },
  'dev.key-neutral': { zh: '评价键「一般」', en: 'evaluator key "neutral"' },
  'dev.key-dissatisfied': { zh: '评价键「不满意」', en: 'evaluator key "dissatisfied"' },
  'dev.key-very-dissatisfied': { zh: '评价键「非常不满意」', en: 'evaluator key "very dissatisfied"' },
  'dev.officer-call-next': { zh: '办理人键「叫号」', en: 'officer key "call next"' },
  'dev.officer-recall': { zh: '办理人键「重呼」', en: 'officer key "recall"' },
  'dev.officer-no-show': { zh: '办理人键「过号」', en: 'officer key "no-show"' },
  'dev.officer-pause': { zh: '办理人键「暂停」', en: 'officer key "pause"' },
  'dev.officer-resume': { zh: '办理人键「恢复」', en: 'officer key "resume"' },
  'dev.officer-help': { zh: '办理人键「求助」', en: 'officer key "help"' },
  'dev.officer-finish': { zh: '办理人键「办结」', en: 'officer key "finish"' },
  'dev.status-lamp': { zh: '状态灯', en: 'status lamp' },
  'dev.evaluator-lamp': { zh: '评价器指示灯', en: 'evaluator lamp' },
  'dev.photo-capture': { zh: '拍照触发', en: 'photo trigger' },
  'dev.fingerprint-capture': { zh: '指纹触发', en: 'fingerprint trigger' },
  'dev.nvr-relay': { zh: '录像继电器', en: 'video recorder relay' },
};

const LANG_KEY = 'counter-edge.lang';
function chosenLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'en' || q === 'zh-CN') return q;
  try { const s = localStorage.getItem(LANG_KEY); if (s === 'en' || s === 'zh-CN') return s; } catch {}
  return 'zh-CN';
}
let lang = chosenLang();

function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]); }
function fill(s, v) { return v ? s.replace(/\{(\w+)\}/g, (_, k) => String(v[k] ?? '')) : s; }
function has(key) { return Object.prototype.hasOwnProperty.call(TEXT, key); }
/** A text of the table as a {zh, en} pair; a key it lacks is shown as itself, never hidden. */
function tr(key, v) { const t = TEXT[key]; return t ? { zh: fill(t.zh, v), en: fill(t.en, v) } : { zh: key, en: key }; }
function trOr(key, fallback) { return has(key) ? tr(key) : same(fallback); }
function same(s) { return { zh: String(s ?? ''), en: String(s ?? '') }; }
function first(p) { return lang === 'en' ? p.en : p.zh; }
function second(p) { return lang === 'en' ? p.zh : p.en; }
function otherLang() { return lang === 'en' ? 'zh-CN' : 'en'; }
/** The pair as HTML: the chosen language first, the other beside it, small, in its own lang. */
function bi(p) {
  const a = first(p), b = second(p);
  return a === b ? esc(a) : esc(a) + ' <span class="alt" lang="' + otherLang() + '">' + esc(b) + '</span>';
}
function T(key, v) { return bi(tr(key, v)); }
/** The pair as one plain string (attributes, titles). */
function plain(p) { const a = first(p), b = second(p); return a === b ? a : a + ' / ' + b; }
/** A message the hub sends as "中文 / English". */
function splitPair(s) { const i = String(s).indexOf(' / '); return i > 0 ? { zh: s.slice(0, i), en: s.slice(i + 3) } : same(s); }
/**
 * The window as the hall knows it: the public number and name its board reports (state.window), as the
 * voice caller and the hall screen say it; the counter id is the installer's, and may differ from the sign.
 */
function winName(counter) {
  const w = windows.get(counter);
  const pub = w && w.state && w.state.window;
  if (pub) return { zh: pub.name, en: fill(TEXT['window.n'].en, { n: pub.number }) };
  const m = /^w0*(\d+)$/i.exec(counter);
  return m ? tr('window.n', { n: m[1] }) : tr('window.id', { id: counter });
}
function deviceWords(d) { return trOr('dev.' + d, d); }
function faultInfo(code) {
  const f = FAULT_WORDS[code];
  return f ? { words: { zh: f.zh, en: f.en }, hint: { zh: f.hintZh, en: f.hintEn } } : { words: tr('fault.unknown', { code }), hint: tr('fault.unknown.hint') };
}

function fmtMs(ms) { const s = Math.max(0, Math.floor(ms / 1000)); return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0'); }
/** How long ago, in words a technician reads at a glance: each number once, its unit in both languages. */
function ago(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + ' ' + T('unit.s');
  if (s < 3600) return Math.floor(s / 60) + ' ' + T('unit.min');
  return Math.floor(s / 3600) + ' ' + T('unit.h') + ' ' + Math.floor((s % 3600) / 60) + ' ' + T('unit.min');
}
function offlineWords(w) {
  if (w.online && w.connected === false) return tr('offline.unconnected');
  // A board taken out of the credentials file says only "will": the hub knows why it cannot come back.
  if (w.revoked) return tr('offline.revoked');
  return has('offline.' + w.offlineReason) ? tr('offline.' + w.offlineReason) : tr('offline.other');
}
/** A short message at the foot of the page; one that asks the technician to do something stays longer. */
function toast(html, ms = 3500) { const t = $('toast'); t.innerHTML = html; t.style.display = 'block'; clearTimeout(toast.t); toast.t = setTimeout(() => (t.style.display = 'none'), ms); }

const ACTIONS = ['identify', 'self-test', 'sync'];
/** "识别 3号窗口 Identify window 3": the window is in each button's name (for a screen reader), hidden from the eye. */
function actionLabel(action, name) {
  const a = tr('act.' + action);
  return esc(first(a)) + '<span class="sr"> ' + esc(first(name)) + '</span> <span class="alt" lang="' + otherLang() + '">' + esc(second(a)) + '<span class="sr"> ' + esc(second(name)) + '</span></span>';
}

function faultItem(f) {
  const info = faultInfo(f.code);
  return '<div class="fault-item" data-fault="' + esc(f.device + ':' + f.code) + '">' + bi(deviceWords(f.device)) + ': ' + bi(info.words) +
    '<div class="hint" data-field="hint">' + T('whatToDo') + ': ' + bi(info.hint) + '</div></div>';
}

function tile(w) {
  const s = w.state;
  const online = w.online && w.connected !== false;
  const faults = (s && s.faults) || [];
  // The display's own fault is said once, where its number would be (screenPart).
  const shown = faults.filter((f) => !(w.screen && w.screen.fault && f.device === (w.screen.device || 'display') && f.code === w.screen.fault.code));
  // An offline window's timer is not running: nobody knows what happens there now.
  const started = online && s && s.ticket && w.serviceStartedAt ? Date.parse(w.serviceStartedAt) : null;
  const overtime = s ? s.overtime : 'none';
  const last = w.lastRating ? bi(SCORE_WORDS[w.lastRating.score] || same(w.lastRating.score)) + ' (' + esc(w.lastRating.ticket) + ')' : '–';
  const depth = w.telemetry && w.telemetry.journal ? w.telemetry.journal.depth : null;
  const alerts = w.alerts || [];
  const help = online ? helpAsked(w) : null;
  const name = winName(w.counter);
  const cls = ['tile', retired(w) ? 'retired' : online ? '' : 'offline', faults.length ? 'fault' : '', alerts.length || help ? 'alert' : ''].join(' ');
  return '<article class="' + cls + '" data-counter="' + esc(w.counter) + '" aria-label="' + esc(plain(name)) + '">' +
    '<h2><span><a href="window/' + encodeURIComponent(w.counter) + '" data-field="detail-link">' + bi(name) + ' <code>' + esc(w.counter) + '</code></a></span><span class="pill ' + (online ? 'ok' : retired(w) ? 'off' : 'bad') + '" data-field="online">' + T(online ? 'online' : retired(w) ? 'revoked' : 'offline') + '</span></h2>' +
    (online ? '' : '<div class="offline-since" data-field="offline">' + bi(offlineWords(w)) + (w.since ? ' · ' + T('since') + ' ' + esc(hallTime(w.since)) + ' · <span data-since="' + esc(w.since) + '">' + ago(w.since) + '</span>' : '') + '</div>') +
    screenPart(w) +
    '<div class="row" data-field="mode">' + (online ? '' : T('lastKnown') + ': ') + T(s ? 'mode.' + s.mode : 'mode.unknown') + (s && s.ticket && s.ticket.green ? ' · ' + T('green') : '') + (s && s.pause ? ' · ' + esc(s.pause.reason) : '') +
      (s && s.ticket && s.ticket.unanswered ? ' <span class="badge over" data-field="unanswered">' + T('unanswered') + '</span>' : '') +
      (s && s.pause && s.pause.over ? ' <span class="badge over" data-field="pause-over">' + T('pauseOver') + '</span>' : '') + '</div>' +
    '<div class="row">' + T('serviceTime') + ': <span class="elapsed ' + esc(overtime) + '" data-started="' + (started || '') + '" data-field="elapsed">' + (started ? fmtMs(hubNow() - started) : '–') + '</span>' +
    (overtime !== 'none' ? ' <span class="badge ' + esc(overtime) + '" data-field="overtime">' + T('overtime.' + overtime) + '</span>' : '') + '</div>' +
    '<div class="row" data-field="officer">' + T('officer') + ': ' + (s && s.officer ? esc(s.officer.name || s.officer.id) : w.officerHidden ? T('officerHidden') : '–') + '</div>' +
    '<div class="row" data-field="rating">' + T('lastRating') + ': ' + last + '</div>' +
    '<div class="row">' + T('journal') + ': ' + (depth === null ? '–' : depth) + '</div>' +
    (help ? '<div class="alerts-row" data-field="help">' + T('help.asked') + ' · ' + esc(hallTime(help.at || help.ts)) + ' · <span data-since="' + esc(help.at || help.ts) + '">' + ago(help.at || help.ts) + '</span></div>' : '') +
    (alerts.length ? '<div class="alerts-row" data-field="alerts">' + T('alertsToday') + ': ' + alerts.length + '</div>' : '') +
    (shown.length ? '<div class="faults" data-field="faults">' + shown.map(faultItem).join('') + '</div>' : '') +
    versionPart(w) +
    '<div class="actions">' + ACTIONS.map((a) => '<button type="button" data-action="' + a + '" ' + (loggedIn && online ? '' : 'disabled') + '>' + actionLabel(a, name) + '</button>').join('') + '</div>' +
    '</article>';
}

/** The version the board runs and, while it takes a release or after one failed, where it stands (its retained update report). */
function versionPart(w) {
  const u = w.update;
  const running = (u && u.running) || w.version;
  const state = u && u.state !== 'idle' ? u.state : null;
  const target = u && u.target && state && state !== 'confirmed' ? ' → ' + esc(u.target) : '';
  const pct = u && u.progress && u.progress.total ? ' ' + Math.floor((100 * u.progress.bytes) / u.progress.total) + '%' : '';
  const bad = state === 'rolled-back' || state === 'failed';
  return '<div class="row' + (bad ? ' faults' : '') + '" data-field="version">' + T('version') + ': ' + esc(running || '–') +
    (state ? ' · <span data-field="update">' + T('upd.' + state) + target + pct + '</span>' : '') + (bad && u.reason ? ' · ' + esc(u.reason) : '') + '</div>';
}

/**
 * What the window's display shows, from the board's own report of it (the
 * screen topic), never from the state: a dead display must look dead here,
 * or a technician believes applicants see a number they do not.
 */
function screenPart(w) {
  const sc = w.screen;
  const wanted = w.state && w.state.ticket ? w.state.ticket.number : null;
  if (!sc) return '<div class="ticket" data-field="ticket"></div><div class="row" data-field="screen-unknown">' + T('screen.unknown') + '</div>';
  if (sc.fault || sc.text === null) {
    return '<div class="ticket display-fault" data-field="ticket" data-display="fault">' + T('display.fault') + '</div>' +
      '<div class="faults" data-field="display-fault"' + (sc.fault ? ' data-code="' + esc(sc.fault.code) + '" title="' + esc(sc.fault.message) + '"' : '') + '>' +
      (sc.fault ? faultItem({ device: sc.device || 'display', code: sc.fault.code }) : T('display.nothing')) + '</div>' +
      (wanted ? '<div class="mismatch" data-field="mismatch">' + T('shouldShow') + ' ' + esc(wanted) + ' · ' + T('cannotSee') + '</div>' : '');
  }
  const label = tr('screen');
  const pic = sc.picture
    ? '<canvas data-field="screen" data-bits="' + esc(sc.picture.bits) + '" width="' + sc.picture.width + '" height="' + sc.picture.height + '" role="img" aria-label="' + esc(first(label) + ' ' + second(label) + ': ' + sc.text.replace(/\n/g, ' / ')) + '"></canvas>'
    : sc.text === '' ? '<div class="screen-text blank" data-field="screen">（' + T('screen.blank') + '）</div>'
    : '<div class="screen-text" data-field="screen">' + esc(sc.text) + '</div>';
  return '<div class="ticket" data-field="ticket" data-display="ok">' + esc(sc.ticket || '') + '</div>' +
    '<div class="screen" title="' + esc(sc.text) + '">' + pic + '</div>' +
    (wanted && sc.ticket !== wanted ? '<div class="mismatch" data-field="mismatch">' + T('shouldShow') + ' ' + esc(wanted) + '</div>' : '');
}


/** A bad rating as the hall reads it. */
function alertPair(a) {
  const w = winName(a.counter);
  return { zh: fill(TEXT['alert.line'].zh, { w: w.zh, ticket: a.ticket, level: a.level }), en: fill(TEXT['alert.line'].en, { w: w.en, ticket: a.ticket, level: a.levelEn || a.level }) };
}

/**
 * The time a bad rating is shown at, and why if it is not the board's: a board whose clock was not set
 * (1970, or hours off before NTP) stamps a time nobody can look up, so the hub's receive time stands in,
 * said as such; the hub's own time, held until its clock was set, is a bound, not the moment.
 */
function alertTime(a) {
  if (a.synced !== false) return { iso: a.ts, note: '' };
  if (a.receivedClock === 'held') return { iso: '', note: 'alert.timeUnknown' };
  return { iso: a.receivedAt, note: a.receivedClock === 'restamped' ? 'alert.restamped' : 'alert.boardUnsynced' };
}

function renderAlerts() {
  const all = [...windows.values()].flatMap((w) => w.alerts || []).sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  $('alerts').hidden = all.length === 0;
  $('alert-count').textContent = all.length;
  // The time is the rating's own (the board's clock, as on its NVR line): a board cut off from the hub sends it
  // minutes later, and the video to review is at the moment of the press, not of its arrival.
  $('alert-list').innerHTML = all.map((a) => {
    const at = alertTime(a);
    const hubClock = !a.receivedClock || a.receivedClock === 'hub';
    const late = !at.note && hubClock && Date.parse(a.receivedAt) - Date.parse(a.ts) >= 60000;
    return '<li data-record="' + esc(a.record) + '"' + (at.note ? ' data-clock="' + esc(at.note) + '"' : '') + '><time datetime="' + esc(at.iso) + '">' + esc(at.iso ? hallTime(at.iso) : '--:--:--') + '</time><b>' + bi(alertPair(a)) + '</b> <span class="row">' +
      [at.note ? '<span data-field="clock">' + T(at.note) + '</span>' : '',
        a.officer ? T('officer') + ' ' + (a.officerName ? esc(a.officerName) + ' (' + esc(a.officer) + ')' : esc(a.officer)) : '', a.caseNo ? T('caseNo') + ' ' + esc(a.caseNo) : '', a.item ? T('item') + ' ' + esc(a.item) : '', a.early ? T('early') : '',
        // The board writes its NVR line on its own clock: that is the text to search for, said so when that clock was not set.
        '<span data-field="video">' + T('videoMark') + ': ' + esc(a.counter.toUpperCase() + ' ' + a.ticket + ' BAD-RATING ' + hallTime(a.ts)) + (a.synced === false ? ' (' + T('alert.markBoardClock') + ')' : '') + '</span>',
        late ? T('hubReceived') + ' ' + esc(hallTime(a.receivedAt)) : ''].filter(Boolean).join(' · ') + '</span></li>';
  }).join('');
}

/** Bad ratings said in the toast and not yet gone from it: several in a row are said together, never only the last. */
let toastAlerts = [];
let toastAlertsUntil = 0;
const ALERT_TOAST_MS = 8000;
/** A window update brought alerts the page had not shown yet: say so at once. */
function announceNew(before, w) {
  const known = new Set(((before && before.alerts) || []).map((a) => a.id));
  const fresh = (w.alerts || []).filter((a) => !known.has(a.id));
  if (fresh.length === 0) return;
  if (Date.now() > toastAlertsUntil) toastAlerts = [];
  toastAlerts.push(...fresh);
  toastAlertsUntil = Date.now() + ALERT_TOAST_MS;
  const n = toastAlerts.length;
  const lines = toastAlerts.slice(-5).map((a) => bi(alertPair(a)));
  toast((n > 1 ? '<b data-field="new-alerts">' + T('alerts.new', { n }) + '</b><br>' : '') + (n > 5 ? '…<br>' : '') + lines.join('<br>'), ALERT_TOAST_MS);
}

/** Revoked and away: taken out of service on purpose (provision --revoke), so no technician is needed there. */
function retired(w) { return Boolean(w.revoked && !w.online); }
/** Steps after which a window's call for the supervisor has been overtaken: the service moved on, or the officer changed. */
const HELP_OVERTAKEN = new Set(['called', 'service-started', 'service-finished', 'signed-in', 'signed-out']);
/** The window's standing call for the duty supervisor (its officer pressed help), newest first among its recent events; null once a later step overtook it. */
function helpAsked(w) {
  for (const e of w.recentEvents || []) {
    if (e.type === 'help-requested') return e;
    if (HELP_OVERTAKEN.has(e.type)) return null;
  }
  return null;
}
/** A called number nobody answered, or a pause past its limit: the waits the duty supervisor is asked about. */
function waitOver(s) { return Boolean((s.ticket && s.ticket.unanswered) || (s.pause && s.pause.over)); }
/** How badly a window needs a technician: offline first, then a dead display, other faults, overtime, bad ratings; a window out of service last. */
function severity(w) {
  const s = w.state;
  if (retired(w)) return 7;
  if (!(w.online && w.connected !== false)) return 0;
  if (w.screen && (w.screen.fault || w.screen.text === null)) return 1;
  if (s && s.faults && s.faults.length) return 2;
  if (helpAsked(w)) return 2.5;
  if (s && (s.overtime === 'over' || waitOver(s))) return 3;
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
  const out = list.filter(retired).length;
  const help = list.filter((w) => severity(w) === 2.5).length;
  const html = '<span data-field="online-count">' + T('online') + ' ' + (list.length - offline - out) + '</span>' +
    '<span data-field="offline-count" class="' + (offline ? 'bad' : '') + '">' + T('offline') + ' ' + offline + '</span>' +
    '<span data-field="fault-count" class="' + (faulty ? 'bad' : '') + '">' + T('fault') + ' ' + faulty + '</span>' +
    '<span data-field="overtime-count" class="' + (over ? 'warn' : '') + '">' + T('overtime') + ' ' + over + '</span>' +
    (help ? '<span data-field="help-count" class="bad">' + T('help.count') + ' ' + help + '</span>' : '') +
    (out ? '<span data-field="revoked-count">' + T('revoked') + ' ' + out + '</span>' : '');
  // Rewritten only when it changed: it is a live region, read out on every change.
  if ($('summary').dataset.html !== html) { $('summary').innerHTML = html; $('summary').dataset.html = html; }
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
  $('bridge-state').innerHTML = T('central') + ': ' + T(b ? 'bridge.' + b.state : 'unknown');
  $('bridge-state').className = 'pill ' + (b && b.state === 'connected' ? 'ok' : b ? 'bad' : '');
  $('bridge-state').dataset.state = b ? b.state : 'unknown';
  $('backlog').innerHTML = T('backlog') + ': ' + (b ? b.backlog : '–');
}

function renderHub() {
  $('hub-state').innerHTML = T('hub.' + hubState);
  $('hub-state').dataset.state = hubState;
  $('hub-state').className = 'pill ' + (hubState === 'live' ? 'ok' : hubState === 'connecting' ? '' : 'bad');
  // What the tiles show is what the hub last said: once it says nothing, the page says so, with since when.
  const stale = hubState !== 'live' && hubState !== 'connecting' && lastFrame > 0;
  $('stale').hidden = !stale;
  $('stale').innerHTML = stale ? T('stale', { t: hallTime(new Date(lastFrame).toISOString()) }) : '';
}

/** A feed item's detail (the hub sends the raw values) in words. */
function detailHtml(e) {
  const d = e.detail;
  if (!d) return '';
  if (e.type === 'service-finished') return bi(trOr('outcome.' + d, d));
  if (e.type === 'evaluated') return bi(SCORE_WORDS[d] || same(d));
  if (e.type === 'overtime') return bi(trOr('overtime.' + d, d));
  if (e.type === 'rating-alert') {
    const level = d.split(' ')[0];
    const score = Object.keys(SCORE_WORDS).find((k) => SCORE_WORDS[k].zh === level);
    return score ? bi(SCORE_WORDS[score]) : esc(d);
  }
  const i = d.indexOf(' ');
  if (i > 0 && (e.type === 'fault' || e.type === 'fault-cleared')) return bi(deviceWords(d.slice(0, i))) + ': ' + bi(faultInfo(d.slice(i + 1)).words);
  if (i > 0 && e.type === 'capture-failed') return bi(trOr('capture.' + d.slice(0, i), d.slice(0, i))) + ' ' + bi(trOr('capfail.' + d.slice(i + 1), d.slice(i + 1)));
  return esc(d);
}
function feedLine(e) {
  return '<time datetime="' + esc(e.ts) + '">' + esc(hallTime(e.ts)) + '</time><b>' + bi(winName(e.counter)) + '</b> <code>' + esc(e.counter) + '</code> ' + bi(trOr('ev.' + e.type, e.type)) + (e.ticket ? ' ' + esc(e.ticket) : '') + (e.detail ? ' · ' + detailHtml(e) : '');
}
/** Each feed item once, by the hub's seq, however history and live items cross. */
function addFeed(e) {
  if (e.seq !== undefined && feedItems.some((x) => x.seq === e.seq)) return;
  feedItems.unshift(e);
  if (feedItems.length > 200) feedItems.pop();
  const li = document.createElement('li');
  li.innerHTML = feedLine(e);
  $('feed').prepend(li);
  while ($('feed').children.length > 200) $('feed').lastChild.remove();
}
function renderFeed() { $('feed').innerHTML = feedItems.map((e) => '<li>' + feedLine(e) + '</li>').join(''); }

/** The voice caller's last announcements, newest first. */
function renderAnnouncer(a) {
  announcer = a;
  $('announcer').hidden = a === null;
  if (a === null) return;
  $('announcer-problem').hidden = a.working;
  $('announcer-problem').innerHTML = a.working ? '' : T('announcer.broken') + ': ' + bi(splitPair(a.problem || ''));
  $('announcements').innerHTML = announcements.map((x) => '<li data-id="' + esc(x.id) + '"><time>' + esc(x.localTime) + '</time><b>' + bi({ zh: x.text, en: x.textEn || x.text }) + '</b>' +
    ' <span class="row">' + bi(trOr('said.' + x.status, x.status)) + (x.type === 'recalled' ? ' · ' + T('recall') : '') +
    (x.missing.length ? ' · ' + T('missingClips') + ': ' + esc(x.missing.join(' ')) : '') + (x.error ? ' · ' + bi(splitPair(x.error)) : '') + '</span></li>').join('');
}
function addAnnouncement(m) {
  const a = m.announcement;
  const i = announcements.findIndex((x) => x.id === a.id);
  if (i >= 0) announcements[i] = a; else announcements = [a, ...announcements].slice(0, 20);
  renderAnnouncer({ working: m.health.working, problem: m.health.problem });
}

/** The hub keeps the feed (hub/dashboard/feed-history.ts): a reload shows what happened before it. */
async function loadFeed() {
  const r = await fetch('api/feed?limit=200');
  if (!r.ok) return;
  const all = [...(await r.json()).entries, ...feedItems].sort((a, b) => a.seq - b.seq);
  feedItems.length = 0;
  $('feed').innerHTML = '';
  for (const e of all) addFeed(e);
}

/**
 * Live frames that come while a snapshot is read are kept and laid over it: the snapshot may have been
 * taken before a change the page has already drawn from the stream, and would otherwise undo it until
 * that window changed again. The last frame of a window is its newest (one stream, in order).
 */
let loadsUnderway = 0;
const framesWhileLoading = new Map();
let hallWhileLoading = null;
async function load() {
  loadsUnderway++;
  try {
    const r = await fetch('api/hall');
    const snap = await r.json();
    windows.clear();
    for (const w of snap.windows) windows.set(w.counter, w);
    for (const w of framesWhileLoading.values()) windows.set(w.counter, w);
    bridge = hallWhileLoading ? hallWhileLoading.bridge : snap.bridge;
    applySnapshot(snap);
    // When the page was last drawn from a snapshot: what a reader of the page (or a test) can wait on.
    document.documentElement.dataset.snapshotAt = snap.at;
  } finally {
    if (--loadsUnderway === 0) { framesWhileLoading.clear(); hallWhileLoading = null; }
  }
}
function applySnapshot(snap) {
  setHallZone(snap.timeZone);
  setHubTime(snap.at);
  showQuarantine(snap.quarantined);
  loggedIn = snap.session !== null;
  showSession(snap.session);
  announcements = snap.announcer ? snap.announcer.recent : [];
  renderAnnouncer(snap.announcer);
  render();
}

function showQuarantine(n) {
  quarantined = n;
  $('quarantine').hidden = !n;
  $('quarantine').innerHTML = T('quarantined') + ': ' + n;
  $('quarantine').title = plain(tr('quarantine.title'));
}

function showSession(user) {
  sessionUser = user;
  $('who').innerHTML = user ? T('technician') + ' ' + esc(user) : '';
  $('user').hidden = $('pass').hidden = $('login-btn').hidden = Boolean(user);
  $('logout-btn').hidden = !user;
}

/** Puts every word on the page in the chosen language; what has focus keeps it. */
function applyLang() {
  document.documentElement.lang = lang;
  document.title = plain(tr('title', { hall: $('hall').textContent }));
  for (const el of document.querySelectorAll('[data-t]')) el.innerHTML = T(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', plain(tr(el.dataset.tLabel)));
  $('lang-btn').innerHTML = T(lang === 'en' ? 'lang.toZh' : 'lang.toEn');
  $('lang-btn').dataset.lang = lang;
  $('user-label').innerHTML = T('user');
  $('pass-label').innerHTML = T('pass');
  $('user').placeholder = first(tr('user.placeholder'));
  $('pass').placeholder = first(tr('pass'));
  $('login-btn').innerHTML = T('login');
  $('logout-btn').innerHTML = T('logout');
  renderHub();
  showQuarantine(quarantined);
  showSession(sessionUser);
  renderAnnouncer(announcer);
  renderFeed();
  render();
}
function setLang(next) {
  lang = next;
  try { localStorage.setItem(LANG_KEY, next); } catch {}
  // A ?lang= in the address would undo the choice on the next reload: it follows the switch.
  const u = new URL(location.href);
  if (u.searchParams.has('lang')) { u.searchParams.set('lang', next); history.replaceState(null, '', u); }
  applyLang();
}
$('lang-btn').addEventListener('click', () => setLang(lang === 'en' ? 'zh-CN' : 'en'));

let es = null;
/** When the hub was last heard on the stream (any frame, its pings every 5 s included), and when a stream was last opened. */
let lastFrame = 0;
let lastAttempt = 0;
/** Three pings missed: the link is dead though nothing closed it (a pulled cable); EventSource itself would wait for ever. */
const STALE_MS = 16000;
const RETRY_MS = 3000;
/** Names come only on a technician's stream: after a login or logout the stream is opened again. */
function reconnect() { if (es) es.close(); connect(); }
function connect() {
  lastAttempt = Date.now();
  es = new EventSource('api/live');
  const source = es;
  const heard = () => { if (source === es) lastFrame = Date.now(); };
  for (const name of ['open', 'ping', 'window', 'hall', 'event', 'announcement', 'quarantine', 'snapshot']) es.addEventListener(name, heard);
  // The snapshot is read once the stream is open (and again after each reconnect): a change between a snapshot read first and the stream opening would be lost.
  es.addEventListener('open', () => { hubState = 'live'; renderHub(); load().catch((e) => toast(T('hub.unreachable', { why: e.message }))); loadFeed().catch(() => undefined); });
  es.addEventListener('error', () => {
    // A refused stream (503: the hub's live streams are full) is not retried by EventSource itself.
    if (es.readyState === EventSource.CLOSED) { hubState = 'full'; renderHub(); setTimeout(connect, 30000); return; }
    hubState = 'reconnecting'; renderHub();
  });
  es.addEventListener('window', (m) => { const w = JSON.parse(m.data); if (loadsUnderway) framesWhileLoading.set(w.counter, w); announceNew(windows.get(w.counter), w); windows.set(w.counter, w); renderWindow(w.counter); });
  es.addEventListener('hall', (m) => { const h = JSON.parse(m.data); if (loadsUnderway) hallWhileLoading = h; bridge = h.bridge; renderBridge(); });
  es.addEventListener('event', (m) => addFeed(JSON.parse(m.data)));
  es.addEventListener('announcement', (m) => addAnnouncement(JSON.parse(m.data)));
  es.addEventListener('quarantine', (m) => showQuarantine(JSON.parse(m.data).total));
  es.addEventListener('snapshot', () => load());
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await fetch('api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('user').value, password: $('pass').value }) });
  const body = await r.json();
  if (!r.ok) { toast(body.error ? bi(splitPair(body.error)) : T('login.failed')); return; }
  $('pass').value = '';
  loggedIn = true; showSession(body.username); render(); reconnect();
  // The form's fields are gone: the keyboard goes on from the log-out button, not from the top of the page.
  $('logout-btn').focus();
});
$('logout-btn').addEventListener('click', async () => { await fetch('api/logout', { method: 'POST' }); loggedIn = false; showSession(null); render(); reconnect(); $('user').focus(); });
/** The window actions under way, each at most once at a time. */
const acting = new Set();
$('tiles').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const counter = b.closest('[data-counter]').dataset.counter;
  const action = b.dataset.action;
  if (needsConfirm(windows.get(counter), action)) {
    const yes = await confirmAction(windows.get(counter), action);
    // Back to the button (the tile may have been redrawn while the dialog was open).
    const again = document.querySelector('[data-counter="' + CSS.escape(counter) + '"] button[data-action="' + action + '"]');
    (again || b).focus();
    if (!yes) return;
  }
  // Not disabled while it runs: a disabled button drops the keyboard focus to the page's top.
  const key = counter + ' ' + action;
  if (acting.has(key)) return;
  acting.add(key);
  b.setAttribute('aria-busy', 'true');
  try {
    const r = await fetch('api/windows/' + encodeURIComponent(counter) + '/' + action, { method: 'POST' });
    const body = await r.json();
    const w = winName(counter), a = tr('act.' + action);
    const lower = { zh: a.zh, en: a.en.toLowerCase() };
    if (!r.ok) toast(bi(splitPair(body.error)), 8000);
    else if (body.ok) toast(bi({ zh: fill(TEXT['act.done'].zh, { w: w.zh, a: lower.zh }), en: fill(TEXT['act.done'].en, { w: w.en, a: lower.en }) }));
    else {
      const why = has('err.' + body.code) ? tr('err.' + body.code) : same(body.message || body.code);
      toast(bi({ zh: fill(TEXT['act.refused'].zh, { w: w.zh, a: lower.zh, why: why.zh }), en: fill(TEXT['act.refused'].en, { w: w.en, a: lower.en, why: why.en }) }), 8000);
    }
  } finally { acting.delete(key); b.removeAttribute('aria-busy'); }
});
setInterval(() => {
  const quiet = Date.now() - lastFrame;
  if (hubState === 'live' && quiet > STALE_MS) {
    hubState = 'stale';
    // How often the page has found its stream dead, for a reader of the page (or a test) to see.
    $('hub-state').dataset.staleTimes = String(Number($('hub-state').dataset.staleTimes || 0) + 1);
    renderHub();
  }
  if ((hubState === 'stale' || hubState === 'reconnecting') && quiet > STALE_MS && Date.now() - lastAttempt > RETRY_MS) reconnect();
  for (const el of document.querySelectorAll('[data-started]')) { const t = Number(el.dataset.started); if (t) el.textContent = fmtMs(hubNow() - t); }
  for (const el of document.querySelectorAll('[data-since]')) el.innerHTML = ago(el.dataset.since);
}, 1000);
applyLang();
connect();
`
