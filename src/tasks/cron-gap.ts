// The smallest gap between two consecutive runs of a cron schedule, for the minimum-interval rule. Most gaps of
// "0,1 9 * * *" are a day and one a minute, and DST stretches or squeezes the gaps around a clock change, so the
// runs of a whole year are looked at. Cheaply: every day a 5-field cron matches has the same wall-clock times, so
// one ordinary day is walked run by run, and any later day with the same first time and no clock change is
// crossed in one step (first to last run); only the days of a clock change are walked again. That is about one
// croner call per matching day, plus the runs of a few whole days.
import { nextStartOfDay, zonedParts } from '../time.js';

const DAY_MS = 86_400_000;
/**
 * Croner calls one check may make. Runs fall on whole minutes, so under any floor above a minute a schedule that
 * passes runs at most 750 times a day (every 2 minutes, on a 25-hour day); the search walks about three whole
 * days (one ordinary, two clock changes) and steps once per other matching day: under 2,700 calls.
 */
export const MAX_GAP_STEPS = 4_000;

export interface Gap {
  ms: number;
  /** The earlier of the two runs. */
  at: number;
}

export interface GapSearch {
  /** The first run strictly after `after`, or null when there is none. */
  next: (after: number) => number | null;
  timeZone: string;
  /** Where to look (see gapWindows); each should start just before a local midnight. */
  windows: { from: number; until: number }[];
  /** Stop at the first gap below this: the schedule is refused anyway. */
  stopBelow: number;
}

/** Thrown when a schedule would need more than MAX_GAP_STEPS runs looked at. */
export class GapSearchTooLong extends Error {}

/** The smallest gap between consecutive runs in the windows (the first one below stopBelow), or null if none. */
export function smallestGap(s: GapSearch): Gap | null {
  let steps = 0;
  const search = {
    ...s,
    next: (after: number) => {
      if (++steps > MAX_GAP_STEPS) throw new GapSearchTooLong(`more than ${MAX_GAP_STEPS} runs to check`);
      return s.next(after);
    },
    smallest: null as Gap | null,
    ordinary: undefined as OrdinaryDay | undefined,
  };
  for (const window of s.windows) {
    searchWindow(search, window.from, window.until);
    if (search.smallest && search.smallest.ms < s.stopBelow) break;
  }
  return search.smallest;
}

/** A matching day with no clock change: its first wall time, and its first to last run. */
interface OrdinaryDay {
  firstTime: string;
  span: number;
}

type Search = GapSearch & { smallest: Gap | null; ordinary: OrdinaryDay | undefined };

function searchWindow(s: Search, from: number, until: number): void {
  const note = (at: number, following: number) => {
    if (!s.smallest || following - at < s.smallest.ms) s.smallest = { ms: following - at, at };
    return s.smallest.ms < s.stopBelow;
  };
  let wholeDay = zonedParts(from + 1, s.timeZone).time === '00:00'; // else the first day may have runs before `from`
  let first = s.next(from);
  while (first !== null && first <= until) {
    const here = zonedParts(first, s.timeZone);
    const ordinary = s.ordinary;
    let last: number;
    let following: number | null;
    if (ordinary && here.time === ordinary.firstTime && here.offset === zonedParts(first + ordinary.span, s.timeZone).offset) {
      last = first + ordinary.span; // the ordinary day's wall times, and no clock change among them
      following = s.next(last);
    } else {
      last = first;
      following = s.next(last);
      while (following !== null && zonedParts(following, s.timeZone).date === here.date) {
        if (note(last, following)) return;
        last = following;
        following = s.next(last);
      }
      // Learn from a whole day with no clock change since the day before (a shifted first time would mislead).
      if (!ordinary && wholeDay && zonedParts(first - DAY_MS, s.timeZone).offset === zonedParts(last, s.timeZone).offset) {
        s.ordinary = { firstTime: here.time, span: last - first };
      }
    }
    if (following !== null && note(last, following)) return;
    first = following;
    wholeDay = true;
  }
}

/**
 * Where to look: a year from the next local midnight (every month and both clock changes), plus the days around
 * the next 29 February when that year has none (a schedule may match it alone, or it may join two matching days).
 * Each window starts just before a local midnight, so no partial day is walked.
 */
export function gapWindows(now: number, timeZone: string): { from: number; until: number }[] {
  const start = nextStartOfDay(now, timeZone);
  const windows = [{ from: start - 1, until: start + 366 * DAY_MS }];
  let year = new Date(now).getUTCFullYear();
  while (!isLeap(year) || Date.UTC(year, 1, 29) < now) year++;
  if (Date.UTC(year, 1, 29) > start + 365 * DAY_MS) {
    windows.push({ from: nextStartOfDay(Date.UTC(year, 1, 26), timeZone) - 1, until: Date.UTC(year, 2, 3) });
  }
  return windows;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
