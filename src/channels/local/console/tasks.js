// Scheduled tasks: pause, resume, run now, and each task's recent runs.
import { api } from './api.js';
import { el, fill, problem, show } from './dom.js';

function history(runs) {
  if (runs.length === 0) return el('p', { class: 'muted' }, 'No runs yet.');
  return el('ol', { class: 'history' }, runs.map((r) =>
    el('li', {}, `${new Date(r.dueAt).toLocaleString()} · ${r.trigger} · ${r.status}`, (r.error || r.result) && el('div', { class: 'result' }, r.error || r.result))));
}

function taskCard(t, reload) {
  const note = el('p', { class: 'note', role: 'status' });
  const more = el('div', { class: 'more' });
  const act = (action) => async () => {
    try {
      await api(`/api/console/tasks/${t.id}/${action}`, { method: 'POST' });
      reload();
    } catch (err) {
      note.className = 'note problem';
      note.textContent = err.message;
    }
  };
  const showHistory = async () => {
    try {
      show(more, history((await api(`/api/console/tasks/${t.id}/history`)).runs));
    } catch (err) {
      show(more, problem(err.message));
    }
  };
  return el('article', { class: 'task', 'data-task': t.id },
    el('header', {}, el('strong', {}, t.id), ` · ${t.group} · ${t.schedule} · `, el('span', { class: 'badge status-' + t.status }, t.status)),
    el('p', { class: 'prompt' }, t.prompt),
    el('p', { class: 'muted' }, `Next: ${t.nextRun ?? '—'}`, t.lastRun ? ` · last: ${t.lastRun.due} ${t.lastRun.status}` : ''),
    el('div', { class: 'actions' },
      t.status === 'active' && el('button', { type: 'button', onclick: act('pause') }, 'Pause'),
      t.status === 'paused' && el('button', { type: 'button', onclick: act('resume') }, 'Resume'),
      el('button', { type: 'button', onclick: act('run') }, 'Run now'),
      el('button', { type: 'button', class: 'plain', onclick: showHistory }, 'History')),
    note, more);
}

export function loadTasks(root) {
  return fill(root, 'the tasks', async () => {
    const { tasks } = await api('/api/console/tasks');
    const none = el('p', { class: 'muted' }, 'No scheduled tasks. Ask the assistant to schedule one.');
    return [el('h2', {}, 'Scheduled tasks'), tasks.length ? tasks.map((t) => taskCard(t, () => loadTasks(root))) : none];
  });
}
