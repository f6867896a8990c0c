// Channel pairing: WhatsApp's QR code (an image we serve) or pairing code, and one-time codes for the bot channels.
import { api, on, token } from './api.js';
import { el, problem, show } from './dom.js';

const RELINK = ['logged-out', 'replaced', 'unpaired', 'forbidden', 'stopped'];
let qrVersion = 0;

function whatsapp(s) {
  if (s.status === 'disabled') return el('p', { class: 'muted' }, 'WhatsApp is not enabled (WHATSAPP_ENABLED=1 and a restart turn it on).');
  const phone = el('input', { id: 'wa-phone', inputMode: 'numeric', placeholder: 'phone number for a code (optional)' });
  const note = el('p', { class: 'note', role: 'status' });
  const form = el('form', { class: 'inline' }, phone, el('button', { type: 'submit' }, 'Connect WhatsApp'), note);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('/api/whatsapp/connect', { method: 'POST', body: phone.value.trim() ? { phone: phone.value.trim() } : {} });
    } catch (err) {
      note.textContent = err.message;
    }
  });
  return el('div', { id: 'wa' },
    el('p', { role: 'status' }, 'WhatsApp: ' + s.detail),
    s.status === 'qr' && el('img', { id: 'wa-qr', src: '/api/whatsapp/qr.svg?token=' + encodeURIComponent(token) + '&v=' + ++qrVersion,
      alt: 'QR code: on your phone open WhatsApp, Settings, Linked devices, Link a device, and scan it' }),
    s.code && el('strong', { id: 'wa-code', 'aria-label': 'Pairing code' }, s.code),
    RELINK.includes(s.status) && form);
}

function botChannel(c) {
  const out = el('div', { class: 'code-out', role: 'status' });
  const issue = async () => {
    try {
      const r = await api('/api/console/pairing/' + c.name, { method: 'POST' });
      show(out, el('strong', { class: 'code' }, r.code), el('p', {}, `Send it to ${r.hint} within 10 minutes; whoever sends it first becomes the owner.`));
    } catch (err) {
      show(out, problem(err.message));
    }
  };
  return el('article', { class: 'bot' },
    el('h3', {}, c.name),
    el('p', {}, !c.setUp ? `Not set up: run \`carapace channel add ${c.name}\`.` : c.owner ? `Paired with ${c.owner.name} (${c.owner.chatId}).` : 'No owner yet.'),
    c.setUp && el('button', { type: 'button', onclick: issue }, c.owner ? 'New pairing code (change owner)' : 'Pairing code'),
    out);
}

export async function loadPairing(root) {
  try {
    const [wa, bots] = await Promise.all([api('/api/whatsapp'), api('/api/console/pairing')]);
    const waBox = el('section', {}, whatsapp(wa));
    show(root, el('h2', {}, 'Pairing'), el('h3', {}, 'WhatsApp'), waBox,
      bots.channels.length ? bots.channels.map(botChannel) : el('p', { class: 'muted' }, 'No bot channels are available.'));
  } catch (err) {
    show(root, problem('Could not load pairing: ' + err.message));
  }
}

/** WhatsApp's status changes (a new QR code every few seconds while linking) redraw the panel if it is open. */
export function watchPairing(root) {
  on('whatsapp', (s) => {
    const box = root.querySelector('#wa')?.parentElement;
    if (box) show(box, whatsapp(s));
  });
}
