// When a scheduled task runs: validating what a user (through the agent) asked for, and computing occurrences.
// Pure functions of (schedule, time zone, now), so they are tested with any clock.
import { Cron } from 'croner';
import type { ScheduleType } from '../store/types.js';
import { formatTime, isoInZone } from '../time.js';
import { gapWindows, GapSearchTooLong, smallestGap, type Gap } from './cron-gap.js';

export type { ScheduleType } from '../store/types.js';

/** A schedule as stored: `value` is normalized (canonical duration, ISO time with offset, trimmed cron). */
export interface Schedule {
  type: ScheduleType;
  value: string;
  /** Interval grid origin: occurrences fall on anchor + k·interval, so run time never shifts them. */
  anchorAt: number;
}

/** Bad schedule input; the message is shown to the agent as is. */
export class ScheduleError extends Error {}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h30m", "2d" or a plain number of milliseconds. */
export function parseDuration(value: string): number {
  const v = value.trim().toLowerCase();
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^(\d+(ms|s|m|h|d))+$/.test(v)) {
    throw new ScheduleError(`Invalid interval "${value}": use a duration like 90s, 15m, 1h30m or 2d (or milliseconds).`);
  }
  let ms = 0;
  for (const [, n, unit] of v.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

/** The shortest canonical spelling of a duration, e.g. 5_400_000 → "1h30m". */
export function formatDuration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out || '0ms';
}

function cronOf(expression: string, timeZone: string): Cron {
  try {
    // Five fields only (minute granularity); "no-wildcard" treats "30 2,14 * * *" as fixed times across DST like Vixie cron.
    return new Cron(expression, { timezone: timeZone, mode: '5-part', fixedTimeRule: 'no-wildcard', paused: true });
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, '');
    throw new ScheduleError(
      `Invalid cron expression "${expression}": ${why}. Use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5".`,
    );
  }
}

const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?$/;
const WITH_OFFSET = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A one-off time: local wall-clock time in `timeZone` ("2026-11-25 17:00", "2026-11-25T17:00:00") or an
 * instant with an offset ("2026-11-25T17:00:00+01:00", "…Z"). A local time skipped by a DST change moves
 * forward by the gap; one that happens twice means the first.
 */
export function parseOnce(value: string, timeZone: string): number {
  const v = value.trim();
  const local = LOCAL_TIME.exec(v);
  if (local) {
    const iso = `${local[1]}T${local[2]}${local[3] ?? ':00'}`;
    if (Number.isNaN(Date.parse(`${iso}Z`)) || new Date(`${iso}Z`).toISOString().slice(0, 19) !== iso) {
      throw new ScheduleError(`Invalid time "${value}": no such date or time.`);
    }
    // croner resolves a wall-clock time in a zone, including DST gaps and overlaps.
    const at = new Cron(iso, { timezone: timeZone, paused: true }).nextRun(new Date(0));
    if (!at) throw new ScheduleError(`Invalid time "${value}".`);
    return at.getTime();
  }
  if (WITH_OFFSET.test(v)) {
    const ms = Date.parse(v.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ScheduleError(
    `Invalid time "${value}": use local time like "2026-11-25 17:00" (in ${timeZone}) or ISO 8601 with an offset like "2026-11-25T17:00:00+01:00".`,
  );
}

export interface ScheduleRules {
  timeZone: string;
  now: number;
  /** Shortest allowed interval (cron has minute granularity by its 5 fields). */
  minIntervalMs: number;
}

/** Cron runs fall on whole minutes, so any two are at least this far apart. */
const CRON_GRANULARITY_MS = 60_000;

/** Refuse a cron expression with any two consecutive runs closer than the floor, within the next year. */
function assertCronFloor(expression: string, cron: Cron, { timeZone, now, minIntervalMs }: ScheduleRules): void {
  if (minIntervalMs <= CRON_GRANULARITY_MS) return;
  const floor = formatDuration(minIntervalMs);
  const next = (after: number) => cron.nextRun(new Date(after))?.getTime() ?? null;
  let gap: Gap | null;
  try {
    gap = smallestGap({ next, timeZone, windows: gapWindows(now, timeZone), stopBelow: minIntervalMs });
  } catch (err) {
    if (!(err instanceof GapSearchTooLong)) throw err;
    throw new ScheduleError(`The cron expression "${expression}" has too many run times a day to check; runs must be at least ${floor} apart. Use fewer times, or an interval.`);
  }
  if (gap && gap.ms < minIntervalMs) {
    throw new ScheduleError(
      `The cron expression "${expression}" runs too often: two runs only ${formatDuration(gap.ms)} apart ` +
        `(${formatTime(gap.at, timeZone)} and ${formatTime(gap.at + gap.ms, timeZone)}), but runs must be at least ${floor} apart. ` +
        `Choose run times at least ${floor} apart, or use an interval.`,
    );
  }
}

/** Validate a requested schedule; returns it normalized with its first occurrence. */
export function parseSchedule(type: string, value: string, rules: ScheduleRules): Schedule & { first: number } {
  const { timeZone, now } = rules;
  if (typeof value !== 'string' || value.trim() === '') throw new ScheduleError('The schedule value is empty.');
  switch (type) {
    case 'cron': {
      const expression = value.trim().replace(/\s+/g, ' ');
      const cron = cronOf(expression, timeZone);
      const first = cron.nextRun(new Date(now));
      if (!first) throw new ScheduleError(`The cron expression "${expression}" never matches a future time.`);
      assertCronFloor(expression, cron, rules);
      return { type, value: expression, anchorAt: now, first: first.getTime() };
    }
    case 'interval': {
      const ms = parseDuration(value);
      if (ms < rules.minIntervalMs) {
        const floor = formatDuration(rules.minIntervalMs);
        throw new ScheduleError(`Interval "${value}" is too short: a task may repeat at most every ${floor}. Use an interval of ${floor} or more.`);
      }
      return { type, value: formatDuration(ms), anchorAt: now, first: now + ms };
    }
    case 'once': {
      const at = parseOnce(value, timeZone);
      if (at <= now) {
        throw new ScheduleError(
          `The time "${value}" is in the past (it is now ${isoInZone(now, timeZone)} in ${timeZone}).`,
        );
      }
      return { type, value: isoInZone(at, timeZone), anchorAt: at, first: at };
    }
    default:
      throw new ScheduleError(`Unknown schedule type "${type}": use cron, interval or once.`);
  }
}

/** The first occurrence strictly after `after`, or null when the schedule has none left. */
export function nextOccurrence(s: Schedule, after: number, timeZone: string): number | null {
  switch (s.type) {
    case 'cron':
      return cronOf(s.value, timeZone).nextRun(new Date(after))?.getTime() ?? null;
    case 'interval': {
      const ms = parseDuration(s.value);
      const k = after < s.anchorAt ? 1 : Math.floor((after - s.anchorAt) / ms) + 1;
      return s.anchorAt + k * ms;
    }
    case 'once':
      return s.anchorAt > after ? s.anchorAt : null;
  }
}

/** Human description for listings, e.g. "every 15m", "cron 0 9 * * 1-5", "once at 2026-11-25T17:00:00+01:00". */
export function describeSchedule(s: { type: ScheduleType; value: string }): string {
  return s.type === 'interval' ? `every ${s.value}` : s.type === 'cron' ? `cron ${s.value}` : `once at ${s.value}`;
}
