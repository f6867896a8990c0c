// The token (taken from the link's #token=… once, then kept in this tab only), the JSON API and the event stream.
const KEY = 'carapace-token';
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  sessionStorage.setItem(KEY, fromHash);
  history.replaceState(null, '', location.pathname); // keep the token out of the address bar and bookmarks
}
export const token = sessionStorage.getItem(KEY) || '';
export const clientId = Math.random().toString(36).slice(2) + Date.now().toString(36); // so our own posts aren't echoed

const statusLine = () => document.getElementById('status');
export const setStatus = (text) => { statusLine().textContent = text; };

/** Call the API; resolves with the JSON answer, or throws an Error carrying the server's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) setStatus('Access token missing or wrong. Open the link Carapace printed when it started.');
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || 'HTTP ' + res.status);
  return data;
}

const listeners = new Map();
/** Listen to one kind of event from the server (message, reply, card, typing, whatsapp, board, open). */
export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}
const fire = (event, data) => (listeners.get(event) || []).forEach((fn) => fn(data));

let retry = 1000;
export function connect() {
  const query = '?token=' + encodeURIComponent(token) + '&client=' + encodeURIComponent(clientId);
  const source = new EventSource('/api/events' + query);
  source.addEventListener('open', () => {
    setStatus('');
    retry = 1000;
    fire('open'); // views (re)load on every open: fills the page, and catches up on anything missed
  });
  for (const event of ['message', 'reply', 'card', 'typing', 'whatsapp', 'board']) {
    source.addEventListener(event, (e) => fire(event, JSON.parse(e.data)));
  }
  source.addEventListener('error', () => {
    fire('typing', { typing: false });
    setStatus('Reconnecting…');
    // EventSource retries network drops itself, but gives up on HTTP errors (e.g. a restart mid-handshake).
    if (source.readyState === EventSource.CLOSED) {
      api('/api/history?limit=1').catch(() => {}); // surfaces a wrong token in the status line
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    }
  });
}
