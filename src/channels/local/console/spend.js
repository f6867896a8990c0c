// Spend: tokens per chat per day as stacked SVG bars (drawn here; no chart library, nothing from elsewhere).
import { api } from './api.js';
import { el, problem, show, tokens } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs, ...kids) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...kids);
  return node;
};
const ROW = 22, LABEL = 52, WIDTH = 320, COLORS = 8;

function chart(days, names) {
  const totals = days.map((d) => Object.values(d.groups).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const rows = days.map((d, i) => {
    let x = LABEL;
    const bars = names.flatMap((name, c) => {
      const w = ((d.groups[name] || 0) / max) * (WIDTH - LABEL - 48);
      if (w <= 0) return [];
      const rect = svg('rect', { x, y: i * ROW + 3, width: w.toFixed(1), height: ROW - 6, class: 'c' + (c % COLORS) }, svg('title', {}, `${name}: ${tokens(d.groups[name] || 0)} tokens on ${d.day}`));
      x += w;
      return [rect];
    });
    return svg('g', {},
      svg('text', { x: 0, y: i * ROW + ROW / 2 + 4, class: 'day' }, d.day.slice(5)),
      ...bars,
      svg('text', { x: x + 4, y: i * ROW + ROW / 2 + 4, class: 'total' }, totals[i] ? tokens(totals[i]) : ''));
  });
  return svg('svg', { viewBox: `0 0 ${WIDTH} ${days.length * ROW}`, role: 'img', 'aria-label': 'Tokens per day', class: 'chart' }, ...rows);
}

export async function loadSpend(root) {
  try {
    const { days } = await api('/api/console/spend?days=14');
    const names = [...new Set(days.flatMap((d) => Object.keys(d.groups)))];
    const legend = el('ul', { class: 'legend' }, names.map((n, c) => el('li', {}, el('span', { class: 'swatch c' + (c % COLORS) }), n)));
    show(root, el('h2', {}, 'Tokens per day'), chart(days, names), names.length ? legend : el('p', { class: 'muted' }, 'No model calls in the last 14 days.'));
  } catch (err) {
    show(root, problem('Could not load the spend: ' + err.message));
  }
}
