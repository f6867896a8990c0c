// Wall-clock time in the user's timezone, for prompts, listings, normalized schedule values and daily budgets.
// The one module that does time-zone math: everything else asks it.

const DAY_MS = 24 * 60 * 60 * 1000;

// Building a formatter costs far more than using one; the cron floor check formats hundreds of instants.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface ZonedParts {
  date: string;
  time: string;
  seconds: string;
  offset: string;
  wallMs: number;
}

// The fields depend only on the whole second, and a day's budget check asks for the same few instants (now, the
// day's start and end) several times: recent answers per zone are kept rather than formatted again.
const RECENT_SECONDS = 32;
const recent = new Map<string, Map<number, ZonedParts>>();

/** The local date and time fields of instant `ms` in `timeZone`, with its UTC offset as "+01:00". */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  const second = Math.floor(ms / 1000);
  let zone = recent.get(timeZone);
  if (!zone) recent.set(timeZone, (zone = new Map()));
  let parts = zone.get(second);
  if (!parts) {
    if (zone.size >= RECENT_SECONDS) zone.delete(zone.keys().next().value!);
    zone.set(second, (parts = Object.freeze(formatParts(second * 1000, timeZone))));
  }
  return parts;
}

function formatParts(ms: number, timeZone: string): ZonedParts {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : String(parts.timeZoneName).replace('GMT', '');
  const wallMs = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}`, seconds: parts.second, offset, wallMs };
}

/** Local wall-clock time with its UTC offset, e.g. "2026-11-24 15:04 +01:00", so the agent reasons in local time. */
export function formatTime(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone);
  return `${p.date} ${p.time} ${p.offset}`;
}

/** ISO 8601 in `timeZone` with its offset, e.g. "2026-11-25T17:00:00+01:00". */
export function isoInZone(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone);
  return `${p.date}T${p.time}:${p.seconds}${p.offset}`;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `ms`. */
function offsetMs(ms: number, timeZone: string): number {
  return zonedParts(ms, timeZone).wallMs - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight began the day containing `ms` in `timeZone`. */
export function startOfDay(ms: number, timeZone: string): number {
  const local = ms + offsetMs(ms, timeZone);
  const midnightWall = local - (((local % DAY_MS) + DAY_MS) % DAY_MS);
  return midnightWall - offsetMs(midnightWall - offsetMs(ms, timeZone), timeZone);
}

/** The instant the next local day begins after the one containing `ms` (exact across clock changes). */
export function nextStartOfDay(ms: number, timeZone: string): number {
  return startOfDay(startOfDay(ms, timeZone) + DAY_MS + 3 * 60 * 60 * 1000, timeZone); // +3 h: past any DST shift
}

/** The instant the local month containing `ms` began in `timeZone`. */
export function startOfMonth(ms: number, timeZone: string): number {
  const day = Number(zonedParts(ms, timeZone).date.slice(8, 10));
  return startOfDay(startOfDay(ms, timeZone) - (day - 1) * DAY_MS + 3 * 60 * 60 * 1000, timeZone); // +3 h: past any DST shift
}

/** The local date ("YYYY-MM-DD") of `ms` in `timeZone`: the key of a day's budget. */
export const localDay = (ms: number, timeZone: string): string => zonedParts(ms, timeZone).date;

/** The time zone this machine is set to. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Whether `timeZone` is an IANA name this Node knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
