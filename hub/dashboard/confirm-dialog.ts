/**
 * The dashboard's question before identify or self-test on a window where
 * an applicant is (being called, served or rating): both change what the
 * applicant sees (the screen blinks, the display is tested), so the
 * technician is asked first, naming the window and the ticket. A real modal
 * <dialog>: focus moves into it (to Cancel, the safe answer), Escape cancels,
 * and a cancel sends nothing.
 */
export const CONFIRM_DIALOG_HTML = `<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <h2 id="confirm-title"></h2>
  <p id="confirm-text"></p>
  <div class="confirm-buttons"><button type="button" id="confirm-cancel">取消 Cancel</button><button type="button" id="confirm-ok" class="danger">确认 Confirm</button></div>
</dialog>`

export const CONFIRM_STYLE = `
  #confirm { border: 0; border-radius: 8px; padding: 18px 20px; max-width: 440px; box-shadow: 0 8px 28px rgba(0,0,0,.3); color: #1d1d1f; }
  #confirm::backdrop { background: rgba(0,0,0,.45); }
  #confirm h2 { margin: 0 0 8px; font-size: 17px; }
  #confirm p { margin: 0 0 14px; }
  .confirm-buttons { display: flex; gap: 10px; justify-content: flex-end; }
  #confirm-ok { background: #b3261e; color: #fff; border-color: #b3261e; }
`

export const CONFIRM_SCRIPT = String.raw`
const APPLICANT_MODES = { calling: '叫号中 calling', serving: '办理中 serving', evaluating: '评价中 rating' };
const CONFIRM_ACTIONS = { identify: ['闪烁识别', 'identify (the screen blinks)'], 'self-test': ['自检（只测显示屏和按键，不触发采集设备）', 'self-test (the display and keys only; the capture devices are not fired)'] };
/** Whether acting on this window needs a yes first: identify or self-test while an applicant is there. */
function needsConfirm(w, action) {
  return Boolean(CONFIRM_ACTIONS[action] && w && w.state && APPLICANT_MODES[w.state.mode]);
}
/** Asks in the modal dialog; resolves true only on Confirm. */
function confirmAction(w, action) {
  const d = document.getElementById('confirm');
  const a = CONFIRM_ACTIONS[action];
  const ticket = w.state.ticket ? w.state.ticket.number : '–';
  const counter = String(w.counter).toUpperCase();
  document.getElementById('confirm-title').textContent = '窗口 ' + counter + ' 有申请人 · Window ' + counter + ' has an applicant';
  document.getElementById('confirm-text').textContent = '窗口 ' + counter + ' 正在' + APPLICANT_MODES[w.state.mode].split(' ')[0] + '，号码 ' + ticket + '。确定执行' + a[0] + '吗？申请人会看到。 · ' +
    'Window ' + counter + ' is ' + APPLICANT_MODES[w.state.mode].split(' ')[1] + ' ticket ' + ticket + '. Run ' + a[1] + ' now? The applicant will see it.';
  return new Promise((resolve) => {
    const done = (yes) => {
      d.removeEventListener('close', onClose);
      document.getElementById('confirm-ok').onclick = null;
      document.getElementById('confirm-cancel').onclick = null;
      if (d.open) d.close();
      resolve(yes);
    };
    // Escape closes a modal dialog (its cancel event, then close): that is a no.
    const onClose = () => done(false);
    d.addEventListener('close', onClose);
    document.getElementById('confirm-ok').onclick = () => done(true);
    document.getElementById('confirm-cancel').onclick = () => done(false);
    d.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}
`
