import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  nextOccurrence,
  parseDuration,
  parseOnce,
  parseSchedule,
  ScheduleError,
  type Schedule,
} from '../src/tasks/schedule.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const rules = (timeZone: string, now: string, minIntervalMs = 60_000) => ({ timeZone, now: at(now), minIntervalMs });

/** The first `n` occurrences after `from`, following the schedule the way the scheduler does. */
function occurrences(s: Schedule, from: string, n: number, timeZone: string): (string | null)[] {
  const out: (string | null)[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextOccurrence(s, t, timeZone);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

describe('cron schedules', () => {
  it('are evaluated in the user timezone', () => {
    const s = parseSchedule('cron', '0 9 * * 1-5', rules('America/New_York', '2026-11-27T15:00:00Z')); // Friday 10:00 local
    expect(iso(s.first)).toBe('2026-11-30T14:00:00.000Z'); // Monday 09:00 EST
    expect(occurrences(s, '2026-11-30T14:00:00Z', 2, 'America/New_York')).toEqual(['2026-12-01T14:00:00.000Z', '2026-12-02T14:00:00.000Z']);
  });

  it('keep local wall-clock time across a DST change', () => {
    const s = parseSchedule('cron', '0 9 * * *', rules('America/New_York', '2026-03-06T20:00:00Z'));
    // US clocks spring forward on 2026-03-08: 09:00 is 14:00Z before and 13:00Z after.
    expect(occurrences(s, '2026-03-06T20:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
    ]);
  });

  it('run a time skipped by spring-forward once, right after the gap', () => {
    const s = parseSchedule('cron', '30 2 * * *', rules('Europe/Berlin', '2026-03-28T12:00:00Z'));
    // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day.
    expect(occurrences(s, '2026-03-28T12:00:00Z', 3, 'Europe/Berlin')).toEqual([
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('run a time repeated by fall-back once, at its first occurrence', () => {
    const s = parseSchedule('cron', '30 2 * * *', rules('Europe/Berlin', '2026-10-24T12:00:00Z'));
    expect(occurrences(s, '2026-10-24T12:00:00Z', 2, 'Europe/Berlin')).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30Z) is skipped
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('keep a steady beat through the repeated hour when they are periodic', () => {
    const s = parseSchedule('cron', '*/30 * * * *', rules('Europe/Berlin', '2026-10-25T00:10:00Z'));
    expect(occurrences(s, '2026-10-25T00:10:00Z', 4, 'Europe/Berlin')).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('are refused with a precise reason when malformed', () => {
    const r = rules('UTC', '2026-01-01T00:00:00Z');
    expect(() => parseSchedule('cron', '* * * * * *', r)).toThrow(/Invalid cron expression "\* \* \* \* \* \*": .*5 parts.*Use 5 fields/);
    expect(() => parseSchedule('cron', '61 * * * *', r)).toThrow(/Invalid value for minute: 61/);
    expect(() => parseSchedule('cron', 'every day', r)).toThrow(ScheduleError);
    expect(() => parseSchedule('cron', '0 0 30 2 *', r)).toThrow('The cron expression "0 0 30 2 *" never matches a future time.');
    expect(() => parseSchedule('cron', '   ', r)).toThrow('The schedule value is empty.');
    expect(() => parseSchedule('weekly', '1', r)).toThrow('Unknown schedule type "weekly": use cron, interval or once.');
  });

  it('are stored normalized', () => {
    expect(parseSchedule('cron', '  0   9 * *  1-5 ', rules('UTC', '2026-01-01T00:00:00Z')).value).toBe('0 9 * * 1-5');
  });
});

describe('interval schedules', () => {
  it('accept durations and milliseconds, and spell them canonically', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2D')).toBe(172_800_000);
    expect(parseDuration('3600000')).toBe(3_600_000);
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(parseSchedule('interval', '90m', rules('UTC', '2026-01-01T00:00:00Z')).value).toBe('1h30m');
    expect(() => parseDuration('soon')).toThrow(/Invalid interval "soon": use a duration like 90s/);
  });

  it('refuse intervals shorter than the minimum', () => {
    expect(() => parseSchedule('interval', '30s', rules('UTC', '2026-01-01T00:00:00Z'))).toThrow(
      'Interval "30s" is too short: the minimum is 1m.',
    );
    expect(() => parseSchedule('interval', '0', rules('UTC', '2026-01-01T00:00:00Z'))).toThrow(/too short/);
  });

  it('fall on a fixed grid from their anchor: run time and missed beats never shift them', () => {
    const s = parseSchedule('interval', '10m', rules('UTC', '2026-01-01T00:00:00Z'));
    expect(iso(s.first)).toBe('2026-01-01T00:10:00.000Z');
    // A run that ended 3.5 minutes late, and a pause of 25 minutes, both land on the next grid point.
    expect(iso(nextOccurrence(s, at('2026-01-01T00:13:30Z'), 'UTC'))).toBe('2026-01-01T00:20:00.000Z');
    expect(iso(nextOccurrence(s, at('2026-01-01T00:45:00Z'), 'UTC'))).toBe('2026-01-01T00:50:00.000Z');
    expect(iso(nextOccurrence(s, at('2026-01-01T00:20:00Z'), 'UTC'))).toBe('2026-01-01T00:30:00.000Z'); // strictly after
  });
});

describe('one-off schedules', () => {
  it('read local time in the user timezone, and instants with an offset as given', () => {
    expect(iso(parseOnce('2026-11-25 17:00', 'Europe/Berlin'))).toBe('2026-11-25T16:00:00.000Z');
    expect(iso(parseOnce('2026-07-25T17:00:30', 'Europe/Berlin'))).toBe('2026-07-25T15:00:30.000Z');
    expect(iso(parseOnce('2026-11-25T17:00:00+05:30', 'Europe/Berlin'))).toBe('2026-11-25T11:30:00.000Z');
    expect(iso(parseOnce('2026-11-25T17:00:00Z', 'Europe/Berlin'))).toBe('2026-11-25T17:00:00.000Z');
  });

  it('move a local time in a DST gap forward by the gap, and take the first of a repeated one', () => {
    expect(iso(parseOnce('2026-03-29 02:30', 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(iso(parseOnce('2026-10-25 02:30', 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
  });

  it('are normalized to ISO with the offset, and occur exactly once', () => {
    const s = parseSchedule('once', '2026-11-25 17:00', rules('Europe/Berlin', '2026-11-24T12:00:00Z'));
    expect(s.value).toBe('2026-11-25T17:00:00+01:00');
    expect(nextOccurrence(s, at('2026-11-24T12:00:00Z'), 'Europe/Berlin')).toBe(s.first);
    expect(nextOccurrence(s, s.first, 'Europe/Berlin')).toBeNull();
  });

  it('refuse past times, impossible dates and other spellings precisely', () => {
    const r = rules('Europe/Berlin', '2026-11-24T12:00:00Z');
    expect(() => parseSchedule('once', '2026-11-24 12:59', r)).toThrow(
      'The time "2026-11-24 12:59" is in the past (it is now 2026-11-24T13:00:00+01:00 in Europe/Berlin).',
    );
    expect(() => parseSchedule('once', '2026-02-30 10:00', r)).toThrow('Invalid time "2026-02-30 10:00": no such date or time.');
    expect(() => parseSchedule('once', 'tomorrow at 5', r)).toThrow(/use local time like "2026-11-25 17:00" \(in Europe\/Berlin\)/);
  });
});
