/**
 * The hall screen (综合屏) at /screen: one page for a TV in kiosk mode in the
 * waiting room. It reads /screen/state once and on every reconnect, then
 * follows /screen/live (hub/dashboard/hall-screen-feed.ts). Text is set with
 * textContent only: window names and notices come from configs, not from us.
 */
export function hallScreenPage(o: { title: string; english: boolean }): string {
  return PAGE.replace('__TITLE__', escapeHtml(o.title)).replace('__ENGLISH__', o.english ? 'true' : 'false')
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__ · 综合屏</title>
<style>
  :root { --bg: #06213f; --panel: #0d3260; --line: #1f4f8a; --text: #f4f7fb; --dim: #9fb6d3; --accent: #ffd54a; --serving: #2ecc71; --paused: #f39c12; --closed: #7f8c9a; }
  * { box-sizing: border-box; margin: 0; padding: 0; }
  html, body { height: 100%; background: var(--bg); color: var(--text); overflow: hidden; cursor: none;
    font-family: "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "Microsoft YaHei", sans-serif; }
  body { display: grid; gap: 1.2vmin; padding: 1.2vmin; }
  .panel { background: var(--panel); border-radius: 1vmin; padding: 1.5vmin 2vmin; min-height: 0; min-width: 0; overflow: hidden; }
  h2 { font-size: 2.6vmin; color: var(--dim); font-weight: 500; margin-bottom: 1vmin; }
  .en { color: var(--dim); font-weight: 400; }
  body:not(.english) .en { display: none; }

  header { display: flex; align-items: center; justify-content: space-between; gap: 2vmin; }
  #title { font-size: 4.2vmin; font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #clock { text-align: right; white-space: nowrap; }
  #time { font-size: 5vmin; font-weight: 700; font-variant-numeric: tabular-nums; }
  #date { font-size: 2.2vmin; color: var(--dim); }

  #latest { display: flex; flex-direction: column; justify-content: center; align-items: center; text-align: center; border: 0.6vmin solid var(--line); }
  #latest .label { font-size: 3vmin; color: var(--dim); }
  #latest-zh { font-size: 9vmin; font-weight: 700; line-height: 1.25; white-space: nowrap; width: 100%; overflow: hidden; }
  #latest-zh b { color: var(--accent); font-size: 1.35em; }
  #latest-en { font-size: 3.4vmin; margin-top: 1vmin; }
  #latest.empty #latest-zh { font-size: 6vmin; color: var(--dim); }
  #latest.flash { animation: flash 0.5s ease-in-out 6; }
  @keyframes flash { 0%, 100% { background: var(--panel); border-color: var(--line); } 50% { background: #b8860b; border-color: var(--accent); } }

  #recent ol { list-style: none; }
  #recent li { display: flex; justify-content: space-between; align-items: baseline; gap: 1vmin; font-size: 3.6vmin; padding: 0.6vmin 0; border-bottom: 1px solid var(--line); }
  #recent li .ticket { font-weight: 700; color: var(--accent); font-variant-numeric: tabular-nums; }
  #recent li .again { font-size: 2vmin; color: var(--paused); }

  #windows .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(24vmin, 1fr)); gap: 1vmin; }
  .win { border-radius: 0.8vmin; padding: 1vmin; background: #0a2a50; border-left: 1vmin solid var(--closed); }
  .win .num { font-size: 3.8vmin; font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .win .state { font-size: 2.2vmin; white-space: nowrap; }
  .win .tk { font-size: 2.6vmin; color: var(--accent); font-variant-numeric: tabular-nums; min-height: 1.2em; }
  .win .officer { font-size: 2vmin; color: var(--dim); }
  .win[data-state="serving"] { border-left-color: var(--serving); }
  .win[data-state="serving"] .state { color: var(--serving); }
  .win[data-state="paused"] { border-left-color: var(--paused); }
  .win[data-state="paused"] .state { color: var(--paused); }
  .win[data-state="closed"] { opacity: 0.6; }

  #waiting ul { list-style: none; display: flex; flex-wrap: wrap; gap: 1vmin 3vmin; }
  #waiting li { font-size: 3vmin; white-space: nowrap; }
  #waiting li b { color: var(--accent); font-size: 1.3em; font-variant-numeric: tabular-nums; }

  #notices { white-space: nowrap; overflow: hidden; font-size: 3vmin; padding: 1vmin 2vmin; }
  #notices span { display: inline-block; padding-left: 100%; animation: scroll var(--scroll, 30s) linear infinite; }
  @keyframes scroll { from { transform: translateX(0); } to { transform: translateX(-100%); } }

  #conn { position: fixed; top: 1.5vmin; left: 50%; transform: translateX(-50%); background: #c0392b; color: #fff; font-size: 3vmin;
    padding: 1vmin 3vmin; border-radius: 1vmin; box-shadow: 0 0 3vmin #000; z-index: 10; }
  [hidden] { display: none !important; }

  /* 16:9 landscape: the latest call large on the left, the last calls on the right, windows below. */
  @media (orientation: landscape) {
    body { grid-template-columns: 3fr 2fr; grid-template-rows: auto minmax(0, 1.5fr) minmax(0, 1fr) auto auto;
      grid-template-areas: "head head" "latest recent" "windows windows" "waiting waiting" "notices notices"; }
  }
  /* Portrait: one column, the latest call at the top third. */
  @media (orientation: portrait) {
    body { grid-template-columns: 1fr; grid-template-rows: auto minmax(0, 1.3fr) minmax(0, 1fr) minmax(0, 1fr) auto auto;
      grid-template-areas: "head" "latest" "recent" "windows" "waiting" "notices"; }
    #latest-zh { font-size: 11vmin; }
  }
  header { grid-area: head; } #latest { grid-area: latest; } #recent { grid-area: recent; }
  #windows { grid-area: windows; } #waiting { grid-area: waiting; } #notices { grid-area: notices; }
</style>
</head>
<body>
<div id="conn" hidden>重新连接中 <span class="en">reconnecting</span>…</div>
<header class="panel">
  <div id="title">__TITLE__</div>
  <div id="clock"><div id="time">--:--:--</div><div id="date"></div></div>
</header>
<section id="latest" class="panel empty" data-flashes="0">
  <div class="label">正在呼叫 <span class="en">Now calling</span></div>
  <div id="latest-zh">请稍候</div>
  <div id="latest-en" class="en">Please wait</div>
</section>
<section id="recent" class="panel"><h2>最近呼叫 <span class="en">Recent calls</span></h2><ol id="recent-list"></ol></section>
<section id="windows" class="panel"><h2>窗口状态 <span class="en">Windows</span></h2><div class="grid" id="window-grid"></div></section>
<section id="waiting" class="panel" hidden><h2>等候人数 <span class="en">Waiting</span></h2><ul id="waiting-list"></ul></section>
<div id="notices" class="panel" hidden><span id="notice-text"></span></div>
<script>
(() => {
  const params = new URLSearchParams(location.search)
  const english = params.has('en') ? !['0', 'false', 'no'].includes(params.get('en')) : __ENGLISH__
  document.body.classList.toggle('english', english)
  const STATE = { serving: ['服务中', 'Open'], paused: ['暂停服务', 'Paused'], closed: ['已关闭', 'Closed'] }
  // Silence on the stream for this long means it is dead even if no error came (a pulled cable closes nothing).
  const STALE_MS = 12000
  const RETRY_MS = 3000
  let snap = null
  let offset = 0
  let lastFrame = Date.now()
  let lastAttempt = 0
  let live = false
  let es = null
  let shownId = null

  const $ = (id) => document.getElementById(id)
  function el(tag, cls, text) {
    const e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }

  function setLive(on) {
    live = on
    $('conn').hidden = on
    document.body.dataset.live = on ? 'yes' : 'no'
  }

  function renderLatest(flash) {
    const box = $('latest')
    const c = snap && snap.calls[0]
    if (!c) {
      box.classList.add('empty')
      $('latest-zh').textContent = '请稍候'
      $('latest-en').textContent = 'Please wait'
      return
    }
    box.classList.remove('empty')
    const zh = $('latest-zh')
    zh.replaceChildren('请 ', el('b', 'ticket', c.ticket), ' 号 到 ', el('b', 'window', c.window.name))
    $('latest-en').textContent = 'Ticket ' + c.ticket + ', please go to window ' + c.window.number + (c.recalls > 0 ? ' (called again)' : '')
    box.dataset.callId = c.id
    box.dataset.recalls = String(c.recalls)
    if (flash && c.id !== shownId) {
      box.classList.remove('flash')
      void box.offsetWidth // restarts the animation on a call that comes while one still flashes
      box.classList.add('flash')
      box.dataset.flashes = String(Number(box.dataset.flashes) + 1)
    }
    shownId = c.id
    fitLatest()
    box.dataset.shownAt = String(Date.now())
  }

  // A long window name must not wrap the call onto two lines or out of its box: the type shrinks to fit instead.
  function fitLatest() {
    const zh = $('latest-zh')
    zh.style.fontSize = ''
    let size = parseFloat(getComputedStyle(zh).fontSize)
    while (zh.scrollWidth > zh.clientWidth && size > 24) {
      size *= 0.92
      zh.style.fontSize = size + 'px'
    }
  }
  addEventListener('resize', () => fitLatest())

  function renderRecent() {
    const list = $('recent-list')
    list.replaceChildren(...snap.calls.slice(1, 1 + snap.recentCalls).map((c) => {
      const li = el('li')
      const left = el('span')
      left.append(el('span', 'ticket', c.ticket))
      if (c.recalls > 0) left.append(' ', el('span', 'again', '再次呼叫' + (english ? ' again' : '')))
      const right = el('span')
      right.append(c.window.name, ' ', el('span', 'en', 'Window ' + c.window.number))
      li.append(left, right)
      return li
    }))
  }

  function tile(w) {
    const d = el('div', 'win')
    d.dataset.key = w.key
    d.dataset.state = w.state
    const st = STATE[w.state] || STATE.closed
    const num = el('div', 'num', w.name)
    const state = el('div', 'state', st[0])
    state.append(' ', el('span', 'en', st[1]))
    d.append(num, state, el('div', 'tk', w.ticket ? w.ticket : ''))
    if (w.officer) d.append(el('div', 'officer', w.officer))
    return d
  }

  function renderWindows() {
    $('window-grid').replaceChildren(...snap.windows.map(tile))
  }

  function renderWaiting() {
    const box = $('waiting')
    const services = snap.waiting || []
    box.hidden = services.length === 0
    $('waiting-list').replaceChildren(...services.map((s) => {
      const li = el('li')
      li.append(s.name + ' ', el('b', null, String(s.waiting)), ' 人', el('span', 'en', ' waiting'))
      return li
    }))
  }

  function renderNotices() {
    const text = snap.notices.join('　　·　　')
    $('notices').hidden = text === ''
    $('notice-text').textContent = text
    $('notice-text').style.setProperty('--scroll', Math.max(15, text.length * 0.4) + 's')
  }

  const timeFmt = () => new Intl.DateTimeFormat('zh-CN', { timeZone: snap.timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
  const dateFmt = () => new Intl.DateTimeFormat('zh-CN', { timeZone: snap.timeZone, year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' })
  const dateFmtEn = () => new Intl.DateTimeFormat('en-GB', { timeZone: snap.timeZone, weekday: 'short', day: 'numeric', month: 'short' })
  let fmts = null
  function renderClock() {
    if (!snap) return
    const now = new Date(Date.now() + offset)
    $('time').textContent = fmts.time.format(now)
    $('date').textContent = fmts.date.format(now) + (english ? ' · ' + fmts.dateEn.format(now) : '')
  }

  function render(flash) {
    $('title').textContent = snap.title
    document.title = snap.title + ' · 综合屏'
    fmts = { time: timeFmt(), date: dateFmt(), dateEn: dateFmtEn() }
    renderLatest(flash)
    renderRecent()
    renderWindows()
    renderWaiting()
    renderNotices()
    renderClock()
  }

  async function load() {
    const r = await fetch('/screen/state', { cache: 'no-store' })
    if (!r.ok) throw new Error('HTTP ' + r.status)
    const first = snap === null
    snap = await r.json()
    offset = Date.parse(snap.at) - Date.now()
    render(!first)
  }

  function onCall(c) {
    if (!snap) return
    snap.calls = [c, ...snap.calls.filter((x) => !(x.window.number === c.window.number && x.ticket === c.ticket))].slice(0, snap.recentCalls + 1)
    renderLatest(true)
    renderRecent()
  }

  function onWindow(w) {
    if (!snap) return
    const i = snap.windows.findIndex((x) => x.key === w.key)
    if (i >= 0) snap.windows[i] = w
    else {
      snap.windows.push(w)
      snap.windows.sort((a, b) => a.number.localeCompare(b.number, 'en', { numeric: true }) || a.key.localeCompare(b.key))
    }
    renderWindows()
  }

  function connect() {
    lastAttempt = Date.now()
    if (es) es.close()
    const source = new EventSource('/screen/live')
    es = source
    const frame = (handler) => (ev) => {
      if (source !== es) return
      lastFrame = Date.now()
      if (!live) setLive(true)
      handler(JSON.parse(ev.data))
    }
    source.onopen = () => {
      if (source !== es) return
      lastFrame = Date.now()
      // What happened while the stream was away comes from the snapshot; the stream is already open, so nothing falls between.
      load().then(() => setLive(true), () => setLive(false))
    }
    source.onerror = () => {
      if (source !== es) return
      setLive(false)
    }
    source.addEventListener('call', frame(onCall))
    source.addEventListener('window', frame(onWindow))
    source.addEventListener('waiting', frame((w) => { if (snap) { snap.waiting = w.services; renderWaiting() } }))
    source.addEventListener('tick', frame((t) => { offset = Date.parse(t.at) - Date.now() }))
  }

  setInterval(() => {
    renderClock()
    const quiet = Date.now() - lastFrame
    if (quiet > STALE_MS && live) setLive(false)
    // EventSource retries a refused connection itself, but gives up for good on an error answer (a 503 at
    // the cap, a proxy's 502) and never notices a dead link: a new one then, a few seconds apart.
    const gaveUp = es && es.readyState === EventSource.CLOSED
    if ((quiet > STALE_MS || gaveUp) && Date.now() - lastAttempt > RETRY_MS) connect()
  }, 1000)

  setLive(false)
  connect()
})()
</script>
</body>
</html>
`
