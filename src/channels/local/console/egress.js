// The egress log: which web destinations the agents' sandboxes asked for, and what the proxy decided.
import { api } from './api.js';
import { clock, el, problem, show } from './dom.js';

export async function loadEgress(root) {
  try {
    const { decisions, approvals = [] } = await api('/api/console/egress');
    const rows = decisions.map((d) =>
      el('tr', { class: d.allowed ? 'allowed' : 'denied' },
        el('td', {}, clock(d.at)), el('td', {}, d.group), el('td', {}, `${d.host}:${d.port}`),
        el('td', {}, el('span', { class: 'badge' }, d.allowed ? 'allowed' : 'denied')), el('td', {}, d.reason || '')));
    show(root, el('h2', {}, 'Egress log'),
      el('p', { class: 'muted' }, 'Web requests from the sandboxes since Carapace started (newest first; the log file keeps them all).'),
      rows.length
        ? el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ['Time', 'Chat', 'Destination', 'Decision', 'Reason'].map((h) => el('th', {}, h)))), el('tbody', {}, rows)))
        : el('p', { class: 'muted' }, 'No web requests yet.'),
      el('h3', {}, 'Approval cards'),
      approvals.length
        ? el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ['#', 'Asked', 'Chat', 'Request', 'Reason given', 'Answer', 'By'].map((h) => el('th', {}, h)))),
            el('tbody', {}, approvals.map((a) => el('tr', { class: ['once', 'chat'].includes(a.status) ? 'allowed' : 'denied' },
              el('td', {}, String(a.id)), el('td', {}, clock(a.askedAt)), el('td', {}, a.folder), el('td', {}, `${a.method} ${a.host}:${a.port}${a.path || ''}`),
              el('td', {}, a.reason || ''), el('td', {}, el('span', { class: 'badge' }, a.status)), el('td', {}, a.decidedBy || ''))))))
        : el('p', { class: 'muted' }, 'The owner has not been asked about any web request yet.'));
  } catch (err) {
    show(root, problem('Could not load the egress log: ' + err.message));
  }
}
