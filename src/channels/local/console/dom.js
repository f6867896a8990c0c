// Building DOM nodes from data: text only ever goes in as text, never as markup.
export function el(tag, props = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  return node;
}

/** Replace a container's content. */
export function show(container, ...kids) {
  container.replaceChildren(...kids.flat(Infinity).filter(Boolean));
}

export const clock = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const tokens = (n) => (n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : String(n));

/** A line for errors the owner should read (what the server said). */
export const problem = (text) => el('p', { class: 'problem', role: 'alert' }, text);

/** Fill a view with what `build` returns, or with why it could not be loaded. */
export async function fill(root, what, build) {
  try {
    show(root, await build());
  } catch (err) {
    show(root, problem(`Could not load ${what}: ${err.message}`));
  }
}
