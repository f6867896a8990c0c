// Overview: the channels and their state, the sandbox backend, runs in progress, today's usage.
import { api } from './api.js';
import { el, problem, show, tokens } from './dom.js';

const card = (label, value, detail) => el('div', { class: 'card' }, el('span', { class: 'label' }, label), el('strong', {}, value), detail && el('small', {}, detail));

export async function loadOverview(root) {
  try {
    const o = await api('/api/console/overview');
    const channels = Object.entries(o.channels).map(([name, h]) =>
      el('li', { class: 'channel state-' + h.state }, el('strong', {}, name), ' ', el('span', { class: 'badge' }, h.state), ' ', h.detail),
    );
    show(
      root,
      el('h2', {}, 'Overview'),
      el(
        'div',
        { class: 'cards' },
        card('Sandbox backend', o.backend),
        card('Runs in progress', `${o.runs} / ${o.maxSandboxes}`, 'sandboxes running now'),
        card('Tokens today', tokens(o.today.tokens), `${o.today.calls} model calls (${o.timeZone})`),
        card('Chats', String(o.groups), 'registered'),
      ),
      el('h3', {}, 'Channels'),
      el('ul', { class: 'channels' }, channels),
    );
  } catch (err) {
    show(root, problem('Could not load the overview: ' + err.message));
  }
}
