// The console: one page of views behind tabs (the address's #fragment picks one). Each view loads when shown and
// reloads when the server reports a change it shows.
import { connect, on, setStatus, token } from './api.js';
import { startChat } from './chat.js';
import { el, show } from './dom.js';
import { loadEgress } from './egress.js';
import { loadGroups } from './groups.js';
import { loadOverview } from './overview.js';
import { loadPairing, watchPairing } from './pairing.js';
import { loadRuns } from './runs.js';
import { loadSpend } from './spend.js';
import { loadTasks } from './tasks.js';

const VIEWS = { overview: loadOverview, groups: loadGroups, runs: loadRuns, tasks: loadTasks, spend: loadSpend, egress: loadEgress, pairing: loadPairing };
let current = 'chat';

function open(name) {
  if (name !== 'chat' && !VIEWS[name]) name = 'chat';
  current = name;
  for (const section of document.querySelectorAll('section.view')) section.hidden = section.id !== name;
  for (const link of document.querySelectorAll('#tabs a')) link.setAttribute('aria-current', link.dataset.tab === name ? 'page' : 'false');
  if (!VIEWS[name]) return;
  // What the view showed last time is stale: nothing of it may be edited while the fresh copy is on its way.
  const view = document.getElementById(name);
  show(view, el('p', { class: 'muted' }, 'Loading…'));
  VIEWS[name](view);
}

/**
 * Reload the shown view if it is one of `names`, unless the owner is editing a form in it: a reload (the event
 * stream came back, the server reported a change) must not replace unsaved input. Saving or opening the tab
 * again shows the fresh copy.
 */
function reloadIfShown(...names) {
  if (!names.includes(current)) return;
  const view = document.getElementById(current);
  if (view.querySelector('form[data-edited]')) return;
  VIEWS[current](view);
}
const markEdited = (e) => e.target.form && (e.target.form.dataset.edited = 'yes');
document.addEventListener('input', markEdited);
document.addEventListener('change', markEdited);

window.addEventListener('hashchange', () => open(location.hash.slice(1)));
on('open', () => reloadIfShown(...Object.keys(VIEWS)));
on('board', (e) => (e.kind === 'egress' ? reloadIfShown('egress') : reloadIfShown('runs', 'overview')));
on('reply', () => reloadIfShown('tasks', 'spend', 'overview'));

startChat();
watchPairing(document.getElementById('pairing'));
if (!token) setStatus('No access token. Open the link Carapace printed when it started.');
else connect();
open(location.hash.startsWith('#token=') ? 'chat' : location.hash.slice(1) || 'chat');
