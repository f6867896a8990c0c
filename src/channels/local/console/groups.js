// Chats and groups: every setting of a registered chat, edited and checked by the server before it is saved;
// registering a known chat and unregistering one.
import { api } from './api.js';
import { el, problem, show } from './dom.js';

const LIMITS = [['memoryMb', 'Memory (MB)'], ['pids', 'Processes'], ['cpus', 'CPUs'], ['timeoutMs', 'Run time limit (ms)']];

const field = (label, input, hint) => el('label', { class: 'field' }, el('span', {}, label), input, hint && el('small', {}, hint));
const numberOrNull = (value) => (value.trim() === '' ? null : Number(value));

/** The form's values as a settings change (empty fields: the install's default). */
function readForm(form) {
  const v = (name) => form.elements[name];
  const limits = {};
  for (const [key] of LIMITS) if (v(key).value.trim() !== '') limits[key] = Number(v(key).value);
  const domains = v('egress').value.split(/[\s,]+/).filter(Boolean);
  let mounts;
  try {
    mounts = v('mounts').value.trim() === '' ? null : JSON.parse(v('mounts').value);
  } catch {
    throw new Error('Extra mounts must be JSON, e.g. [{"hostPath": "~/projects", "readonly": true}]');
  }
  return {
    name: v('name').value,
    trigger: v('trigger').value,
    requiresTrigger: v('requiresTrigger').checked,
    allowSessionCommands: v('allowSessionCommands').checked,
    dailyTokenBudget: numberOrNull(v('budget').value),
    egressAllow: v('egressDefault').checked ? null : domains,
    limits: Object.keys(limits).length ? limits : null,
    additionalMounts: mounts,
  };
}

function groupForm(g, reload) {
  const note = el('p', { class: 'note', role: 'status' });
  const limitFields = LIMITS.map(([key, label]) => field(label, el('input', { name: key, inputMode: 'decimal', value: g.limits?.[key] ?? '', placeholder: 'default' })));
  const form = el(
    'form',
    { class: 'group', 'data-folder': g.folder },
    el('h3', {}, g.name, ' ', el('small', {}, `${g.chatId} · folder ${g.folder}${g.isMain ? ' · main' : ''}${g.isThread ? ' · thread' : ''}${g.mode === 'source' ? ' · watched source (never answered)' : ''}`)),
    el('div', { class: 'grid' },
      field('Name', el('input', { name: 'name', value: g.name, required: true })),
      field('Trigger', el('input', { name: 'trigger', value: g.trigger, required: true })),
      field('Daily token budget', el('input', { name: 'budget', inputMode: 'numeric', value: g.dailyTokenBudget ?? '', placeholder: 'unlimited' })),
      ...limitFields,
    ),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'requiresTrigger', checked: g.requiresTrigger }), ' Answer only messages that start with the trigger'),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'allowSessionCommands', checked: g.isMain || g.allowSessionCommands, disabled: g.isMain }), ' Allow /clear and /compact'),
    field('Allowed web domains', el('textarea', { name: 'egress', rows: 3, value: (g.egressAllow ?? []).join('\n'), placeholder: 'one per line, e.g. *.wikipedia.org' })),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'egressDefault', checked: g.egressAllow === null }), " Use the install's default list"),
    field('Extra mounts (JSON)', el('textarea', { name: 'mounts', rows: 2, value: g.additionalMounts.length ? JSON.stringify(g.additionalMounts) : '', placeholder: '[{"hostPath": "~/projects", "readonly": true}]' }), 'Only folders under the mount allowlist are accepted'),
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, 'Save'),
      !g.isMain && el('button', { type: 'button', class: 'danger', onclick: () => unregister(g, note, reload) }, 'Unregister'),
    ),
    note,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    note.className = 'note';
    note.textContent = 'Saving…'; // not the last save's "Saved." while this one is on its way
    try {
      await api('/api/console/groups/' + g.id, { method: 'PATCH', body: readForm(form) });
      note.textContent = 'Saved.';
      delete form.dataset.edited; // what it shows is saved: later reloads may replace it again
    } catch (err) {
      note.className = 'note problem';
      note.textContent = err.message;
    }
  });
  return form;
}

async function unregister(g, note, reload) {
  if (!confirm(`Unregister "${g.name}"? Its tasks, runs and usage history are forgotten; its folder and messages stay.`)) return;
  try {
    await api('/api/console/groups/' + g.id, { method: 'DELETE' });
    reload();
  } catch (err) {
    note.className = 'note problem';
    note.textContent = err.message;
  }
}

function registerForm(chats, reload) {
  if (chats.length === 0) return el('p', { class: 'muted' }, 'Every known chat is registered. Chats appear here once they have sent a message.');
  const note = el('p', { class: 'note', role: 'status' });
  const form = el('form', { class: 'group register' },
    el('h3', {}, 'Register a chat'),
    el('div', { class: 'grid' },
      field('Chat', el('select', { name: 'chatId' }, chats.map((c) => el('option', { value: c.chatId }, `${c.name || c.chatId} (${c.chatId})`)))),
      field('Folder', el('input', { name: 'folder', required: true, placeholder: 'e.g. family' })),
      field('Trigger', el('input', { name: 'trigger', placeholder: 'same as main' })),
    ),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Register')),
    note,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    try {
      await api('/api/console/groups', { method: 'POST', body: { chatId: v('chatId'), folder: v('folder'), ...(v('trigger') ? { trigger: v('trigger') } : {}) } });
      reload();
    } catch (err) {
      note.className = 'note problem';
      note.textContent = err.message;
    }
  });
  return form;
}

export async function loadGroups(root) {
  const reload = () => loadGroups(root);
  try {
    const { groups, chats } = await api('/api/console/groups');
    show(root, el('h2', {}, 'Chats'), groups.map((g) => groupForm(g, reload)), registerForm(chats, reload));
  } catch (err) {
    show(root, problem('Could not load the chats: ' + err.message));
  }
}
