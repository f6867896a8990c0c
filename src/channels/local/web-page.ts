// The owner's chat page, served by LocalChannel at `/`. Self-contained (no external resources).
// Script and style are exported separately so the server can pin them in the CSP by hash.
// Message data is only ever rendered with textContent.

export const PAGE_STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --accent: #2456d6;
  --bubble: #fff; --border: #d9dde3; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181c; --fg: #e8eaed; --muted: #a2abb5; --accent: #3b6ef0; --bubble: #22262c; --border: #363d46; }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; background: var(--bg); color: var(--fg); }
body > header { display: flex; align-items: baseline; gap: .75rem; padding: .6rem 1rem; border-bottom: 1px solid var(--border); }
h1 { font-size: 1.05rem; margin: 0; }
#status { color: var(--muted); font-size: .85rem; }
#log { flex: 1; overflow-y: auto; padding: 1rem; display: flex; flex-direction: column; gap: .6rem; }
.msg { max-width: min(42rem, 85%); padding: .5rem .75rem; border-radius: .9rem; border: 1px solid var(--border);
  background: var(--bubble); align-self: flex-start; }
.msg.user { align-self: flex-end; background: var(--accent); color: #fff; border-color: transparent; }
.msg header { font-size: .75rem; opacity: .85; margin-bottom: .15rem; }
.who { font-weight: 600; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.pending { opacity: .6; }
.failed { outline: 2px solid #d33; }
.error { font-size: .8rem; margin-top: .25rem; }
#typing { padding: 0 1rem .4rem; color: var(--muted); font-size: .85rem; font-style: italic; }
form { display: flex; gap: .5rem; padding: .75rem 1rem; border-top: 1px solid var(--border); }
textarea { flex: 1; resize: none; font: inherit; padding: .55rem .7rem; border-radius: .6rem; border: 1px solid var(--border);
  background: var(--bubble); color: var(--fg); max-height: 12rem; }
button { font: inherit; padding: 0 1.1rem; border-radius: .6rem; border: 0; background: var(--accent); color: #fff; cursor: pointer; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
#wa { padding: .5rem 1rem; border-bottom: 1px solid var(--border); font-size: .9rem; display: flex; flex-wrap: wrap;
  align-items: center; gap: .5rem 1rem; }
#wa-qr { width: 16rem; height: 16rem; background: #fff; border-radius: .4rem; }
#wa-code { font: 600 1.3rem ui-monospace, monospace; letter-spacing: .15em; }
#wa-form { display: flex; gap: .5rem; padding: 0; border: 0; }
#wa-form input { font: inherit; padding: .3rem .5rem; border-radius: .4rem; border: 1px solid var(--border); background: var(--bubble); color: var(--fg); }
[hidden] { display: none !important; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const PAGE_SCRIPT = `
'use strict';
(() => {
  const KEY = 'carapace-token';
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash);
    history.replaceState(null, '', location.pathname); // keep the token out of the address bar and bookmarks
  }
  const token = sessionStorage.getItem(KEY) || '';
  const clientId = Math.random().toString(36).slice(2) + Date.now().toString(36); // so our own posts aren't echoed back
  const $ = (id) => document.getElementById(id);
  const log = $('log'), form = $('composer'), input = $('input'), typing = $('typing'), status = $('status');
  const wa = $('wa'), waText = $('wa-text'), waQr = $('wa-qr'), waCode = $('wa-code'), waForm = $('wa-form'), waPhone = $('wa-phone');
  let qrVersion = 0;
  const shown = new Set();
  let typingTimer;

  const setStatus = (text) => { status.textContent = text; };
  const clock = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  function render(line) {
    if (line.id && shown.has(line.id)) return null;
    if (line.id) shown.add(line.id);
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const item = document.createElement('article');
    item.className = 'msg ' + (line.from === 'assistant' ? 'assistant' : 'user');
    const meta = document.createElement('header');
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = line.senderName;
    const when = document.createElement('time');
    when.dateTime = new Date(line.timestamp).toISOString();
    when.textContent = clock(line.timestamp);
    meta.append(who, ' \\u00b7 ', when);
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = line.text;
    item.append(meta, body);
    log.append(item);
    if (stick) log.scrollTop = log.scrollHeight;
    return item;
  }

  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(() => { typing.hidden = true; }, 120000); // never stuck if the "off" is lost
  }

  async function api(path, init = {}) {
    const res = await fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: 'Bearer ' + token } });
    if (res.status === 401) {
      setStatus('Access token missing or wrong. Open the link Carapace printed when it started.');
      throw new Error('unauthorized');
    }
    return res;
  }

  async function loadHistory() {
    const res = await api('/api/history?limit=100');
    (await res.json()).messages.forEach(render);
  }

  // WhatsApp pairing: status line, the QR code to scan (an image served by us), a pairing code, "connect again".
  function renderWhatsApp(s) {
    wa.hidden = s.status === 'disabled';
    if (wa.hidden) return;
    waText.textContent = 'WhatsApp: ' + s.detail;
    waQr.hidden = s.status !== 'qr';
    if (s.status === 'qr') waQr.src = '/api/whatsapp/qr.svg?token=' + encodeURIComponent(token) + '&v=' + (++qrVersion);
    waCode.hidden = !s.code;
    waCode.textContent = s.code || '';
    waForm.hidden = !['logged-out', 'replaced', 'unpaired', 'forbidden', 'stopped'].includes(s.status);
  }

  async function loadWhatsApp() {
    renderWhatsApp(await (await api('/api/whatsapp')).json());
  }

  waForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const phone = waPhone.value.trim();
    const res = await api('/api/whatsapp/connect', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(phone ? { phone } : {}),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) waText.textContent = 'WhatsApp: ' + (data.error || 'HTTP ' + res.status);
    else renderWhatsApp(data);
  });

  let retry = 1000;
  function connect() {
    const source = new EventSource('/api/events?token=' + encodeURIComponent(token) + '&client=' + encodeURIComponent(clientId));
    // (Re)load history on every open: fills the page first, and catches up on anything missed while disconnected.
    source.addEventListener('open', () => {
      setStatus('');
      retry = 1000;
      loadHistory().catch(() => {});
      loadWhatsApp().catch(() => {});
    });
    source.addEventListener('whatsapp', (e) => renderWhatsApp(JSON.parse(e.data)));
    source.addEventListener('message', (e) => render({ from: 'user', ...JSON.parse(e.data) }));
    source.addEventListener('reply', (e) => {
      showTyping(false);
      const d = JSON.parse(e.data);
      render({ id: d.id, from: 'assistant', senderName: d.senderName || 'Assistant', text: d.text, timestamp: d.timestamp });
    });
    source.addEventListener('typing', (e) => showTyping(JSON.parse(e.data).typing === true));
    source.addEventListener('error', () => {
      showTyping(false);
      setStatus('Reconnecting\\u2026');
      // EventSource retries network drops itself, but gives up on HTTP errors (e.g. a restart mid-handshake).
      if (source.readyState === EventSource.CLOSED) {
        loadHistory().catch(() => {}); // surfaces a wrong token in the status line
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    });
  }

  async function sendMessage() {
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    grow();
    const item = render({ from: 'user', senderName: 'You', text, timestamp: Date.now() });
    item.classList.add('pending');
    try {
      const res = await api('/api/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, clientId }),
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || 'HTTP ' + res.status);
      shown.add(data.id);
      item.classList.remove('pending');
      if (data.senderName) item.querySelector('.who').textContent = data.senderName;
    } catch (err) {
      item.classList.replace('pending', 'failed');
      const note = document.createElement('div');
      note.className = 'error';
      note.textContent = 'Not sent: ' + err.message;
      item.append(note);
      if (!input.value) { input.value = text; grow(); } // give the text back so it isn't lost
    }
  }

  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 192) + 'px';
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  input.addEventListener('input', grow);

  if (!token) setStatus('No access token. Open the link Carapace printed when it started.');
  else connect();
  input.focus();
})();
`;

export const WEB_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Carapace</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>Carapace</h1><span id="status" role="status"></span></header>
<section id="wa" aria-label="WhatsApp" hidden>
<span id="wa-text" role="status"></span>
<img id="wa-qr" alt="QR code: on your phone open WhatsApp, Settings, Linked devices, Link a device, and scan it" hidden>
<strong id="wa-code" aria-label="Pairing code" hidden></strong>
<form id="wa-form" hidden>
<label for="wa-phone" class="sr-only">Phone number for a pairing code (optional)</label>
<input id="wa-phone" inputmode="numeric" placeholder="phone number for a code (optional)">
<button type="submit">Connect WhatsApp</button>
</form>
</section>
<main id="log" role="log" aria-live="polite" aria-label="Conversation"></main>
<div id="typing" role="status" hidden>Assistant is typing\u2026</div>
<form id="composer">
<label for="input" class="sr-only">Message</label>
<textarea id="input" rows="1" placeholder="Message your assistant (Enter to send, Shift+Enter for a new line)"></textarea>
<button type="submit">Send</button>
</form>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
