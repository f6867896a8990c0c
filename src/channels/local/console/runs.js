// Live runs: each agent at work, the tools it called (as they finish), and a button to stop it.
import { api } from './api.js';
import { clock, el, fill } from './dom.js';

function toolLine(t) {
  return el('li', { class: 'tool ' + (t.ok ? 'ok' : 'failed') },
    el('time', {}, clock(t.at)), ' ', el('strong', {}, t.name), ' ', el('code', {}, t.input),
    t.result && el('div', { class: 'result' }, (t.ok ? '→ ' : '✗ ') + t.result));
}

function runCard(run, reload) {
  const note = el('p', { class: 'note', role: 'status' });
  const stop = el('button', { type: 'button', class: 'danger', onclick: async () => {
    stop.disabled = true;
    try {
      await api(`/api/console/runs/${run.id}/stop`, { method: 'POST' });
      note.textContent = 'Stopping…';
    } catch (err) {
      note.className = 'note problem';
      note.textContent = err.message;
    }
    reload();
  } }, 'Stop');
  return el('article', { class: 'run', 'data-run': run.id },
    el('header', {}, el('strong', {}, run.folder), ` · ${run.mode} · since ${clock(run.startedAt)} `, stop),
    run.tools.length ? el('ol', { class: 'tools' }, run.tools.map(toolLine)) : el('p', { class: 'muted' }, 'No tool calls yet.'),
    note);
}

export function loadRuns(root) {
  return fill(root, 'the runs', async () => {
    const { runs } = await api('/api/console/runs');
    return [el('h2', {}, 'Live runs'), runs.length ? runs.map((r) => runCard(r, () => loadRuns(root))) : el('p', { class: 'muted' }, 'No agent is running right now.')];
  });
}
