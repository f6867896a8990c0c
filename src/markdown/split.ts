// Long replies go out as several messages, cut where a reader would: between paragraphs, then lines, sentences,
// words — and outside code blocks whenever any such place exists. For rendered text whose code blocks are ```
// fences (WhatsApp, Slack, Discord); a block cut in two is closed and reopened so both halves render.

const FENCE = '```';
const SENTENCE = /[.!?…]\s/g;
/** Where to cut, best first. */
const BREAKS = [/\n\s*\n/g, /\n/g, SENTENCE, /\s/g];

/** Split `text` into parts of at most `max` characters (+4 when a code block had to be closed), losing nothing. */
export function splitMessage(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  let reopen = false;
  while (rest.length > 0) {
    if (reopen) rest = `${FENCE}\n${rest}`;
    if (rest.length <= max) {
      parts.push(rest);
      break;
    }
    const cut = cutAt(rest, max - 4); // room to close a code block
    let part = rest.slice(0, cut).trimEnd();
    rest = rest.slice(cut).trimStart();
    reopen = fencesBefore(part, part.length) % 2 === 1;
    if (reopen) part += `\n${FENCE}`;
    parts.push(part);
  }
  return parts;
}

/** The best place to cut in the first `room` characters, in their second half; a hard cut when there is none. */
function cutAt(text: string, room: number): number {
  const window = text.slice(0, room + 1);
  for (const inCodeToo of [false, true]) {
    for (const pattern of BREAKS) {
      let cut = -1;
      for (const m of window.matchAll(pattern)) {
        const end = pattern === SENTENCE ? m.index + 1 : m.index;
        if (end >= room / 2 && (inCodeToo || fencesBefore(window, end) % 2 === 0)) cut = end;
      }
      if (cut > 0) return cut;
    }
  }
  return room;
}

function fencesBefore(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf(FENCE); i >= 0 && i + FENCE.length <= end; i = text.indexOf(FENCE, i + FENCE.length)) count++;
  return count;
}
