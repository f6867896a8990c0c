// The chat: history, live replies and typing, the composer. Replies are Markdown, rendered by marked and then
// sanitised by DOMPurify before they touch the page; the owner's own messages stay plain text.
import { marked } from '/vendor/marked.js';
import DOMPurify from '/vendor/purify.js';
import { api, clientId, on } from './api.js';
import { el } from './dom.js';

const log = document.getElementById('log');
const form = document.getElementById('composer');
const input = document.getElementById('input');
const typing = document.getElementById('typing');
const shown = new Set();
let typingTimer;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

export function markdown(text) {
  const html = DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: true }), { FORBID_TAGS: ['style', 'form', 'input', 'img'] });
  return el('div', { class: 'text md', innerHTML: html });
}

function render(line) {
  if (line.id && shown.has(line.id)) return null;
  if (line.id) shown.add(line.id);
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  const assistant = line.from === 'assistant';
  const when = el('time', { dateTime: new Date(line.timestamp).toISOString() }, new Date(line.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  const item = el(
    'article',
    { class: 'msg ' + (assistant ? 'assistant' : 'user') },
    el('header', {}, el('span', { class: 'who' }, line.senderName), ' · ', when),
    assistant ? markdown(line.text) : el('div', { class: 'text' }, line.text),
  );
  log.append(item);
  if (stick) log.scrollTop = log.scrollHeight;
  return item;
}

/** A question from Carapace (an egress approval) with its buttons; the answer replaces them. */
function renderCard(d) {
  const item = render({ id: d.id, from: 'assistant', senderName: d.senderName || 'Assistant', text: d.card.text, timestamp: d.timestamp });
  if (!item) return;
  const outcome = el('div', { class: 'card-outcome', role: 'status' });
  const press = async (choice) => {
    buttons.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      outcome.textContent = (await api('/api/cards', { method: 'POST', body: { cardId: d.card.id, choice } })).text;
      buttons.remove();
    } catch (err) {
      outcome.textContent = 'Not answered: ' + err.message;
      buttons.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    }
  };
  const buttons = el('div', { class: 'card-buttons' }, d.card.choices.map((c) => el('button', { type: 'button', 'data-choice': c.id, onclick: () => press(c.id) }, c.label)));
  item.append(buttons, outcome);
}

function showTyping(on) {
  typing.hidden = !on;
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => { typing.hidden = true; }, 120000); // never stuck if the "off" is lost
}

async function sendMessage() {
  const text = input.value;
  if (!text.trim()) return;
  input.value = '';
  grow();
  const item = render({ from: 'user', senderName: 'You', text, timestamp: Date.now() });
  item.classList.add('pending');
  try {
    const data = await api('/api/messages', { method: 'POST', body: { text, clientId } });
    shown.add(data.id);
    item.classList.remove('pending');
    if (data.senderName) item.querySelector('.who').textContent = data.senderName;
  } catch (err) {
    item.classList.replace('pending', 'failed');
    item.append(el('div', { class: 'error' }, 'Not sent: ' + err.message));
    if (!input.value) { input.value = text; grow(); } // give the text back so it isn't lost
  }
}

function grow() {
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight + 2, 192) + 'px';
}

export function startChat() {
  form.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  input.addEventListener('input', grow);
  on('open', () => api('/api/history?limit=100').then((d) => d.messages.forEach(render)).catch(() => {}));
  on('message', (m) => render({ from: 'user', ...m }));
  on('reply', (d) => {
    showTyping(false);
    render({ id: d.id, from: 'assistant', senderName: d.senderName || 'Assistant', text: d.text, timestamp: d.timestamp });
  });
  on('card', renderCard);
  on('typing', (d) => showTyping(d.typing === true));
  input.focus();
}
