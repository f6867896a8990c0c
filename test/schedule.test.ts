import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { gapWindows, MAX_GAP_STEPS, smallestGap } from '../src/tasks/cron-gap.js';
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

describe('the minimum gap between cron runs', () => {
  const floor = (minutes: number, timeZone = 'Europe/Berlin', now = '2026-11-24T12:00:00Z') => rules(timeZone, now, minutes * 60_000);

  it('is the smallest gap, however rare: "0,1 9 * * *" runs a minute apart once a day', () => {
    expect(() => parseSchedule('cron', '0,1 9 * * *', floor(2))).toThrow(
      'The cron expression "0,1 9 * * *" runs too often: two runs only 1m apart (2026-11-25 09:00 +01:00 and 2026-11-25 09:01 +01:00), ' +
        'but runs must be at least 2m apart. Choose run times at least 2m apart, or use an interval.',
    );
    expect(() => parseSchedule('cron', '*/30 * * * *', floor(60))).toThrow('two runs only 30m apart');
    expect(parseSchedule('cron', '0 * * * *', floor(60)).value).toBe('0 * * * *');
    expect(parseSchedule('cron', '*/2 * * * *', floor(2)).value).toBe('*/2 * * * *');
  });

  it('counts the gap across midnight and between matching days', () => {
    expect(() => parseSchedule('cron', '0 0,23 * * *', floor(90))).toThrow(/two runs only 1h apart \(2026-11-2\d 23:00 \+01:00 and 2026-11-2\d 00:00 \+01:00\)/);
    expect(() => parseSchedule('cron', '59 23 1,2 * *', floor(25 * 60))).toThrow('two runs only 1d apart');
    expect(parseSchedule('cron', '59 23 1,3 * *', floor(25 * 60)).value).toBe('59 23 1,3 * *'); // 2 days at least
    expect(parseSchedule('cron', '0 9 * * 1-5', floor(23 * 60)).value).toBe('0 9 * * 1-5');
  });

  it('sees the squeeze of a DST change: spring-forward shortens a gap, a periodic cron runs twice in the repeated hour', () => {
    // New York skips 02:00-03:00 on 14 March 2027, so 01:30 and the moved 02:30 are 30 minutes apart.
    expect(() => parseSchedule('cron', '30 1,2 * * *', floor(60, 'America/New_York'))).toThrow(
      'two runs only 30m apart (2027-03-14 01:30 -05:00 and 2027-03-14 03:00 -04:00)',
    );
    // Every 2 hours is 1 hour apart when Berlin's clocks go back on 31 October 2027.
    expect(() => parseSchedule('cron', '0 */2 * * *', floor(120))).toThrow(
      'two runs only 1h apart (2027-10-31 02:00 +02:00 and 2027-10-31 02:00 +01:00)',
    );
    // The daily run that spring-forward brings 23 hours after the last is refused under a 24-hour floor.
    expect(() => parseSchedule('cron', '0 9 * * *', floor(24 * 60))).toThrow('two runs only 23h apart (2027-03-27 09:00 +01:00 and 2027-03-28 09:00 +02:00)');
    expect(parseSchedule('cron', '0 9 * * *', floor(23 * 60)).value).toBe('0 9 * * *');
  });

  it('looks as far as the next 29 February', () => {
    expect(() => parseSchedule('cron', '0,1 9 29 2 *', floor(2))).toThrow('two runs only 1m apart (2028-02-29 09:00 +01:00 and 2028-02-29 09:01 +01:00)');
    expect(() => parseSchedule('cron', '0 23 28,29 2 *', floor(25 * 60, 'UTC'))).toThrow('two runs only 1d apart (2028-02-28 23:00 +00:00');
  });

  it('needs no search at a floor of a minute or less: cron runs fall on whole minutes', () => {
    expect(parseSchedule('cron', '* * * * *', floor(1)).value).toBe('* * * * *');
  });

  it('checks a dense schedule within a bounded number of croner calls', () => {
    const schedule = parseSchedule('cron', '*/2 * * * *', floor(2));
    let calls = 0;
    const cron = new Cron(schedule.value, { timezone: 'Europe/Berlin', mode: '5-part', fixedTimeRule: 'no-wildcard', paused: true });
    const next = (after: number) => (calls++, cron.nextRun(new Date(after))?.getTime() ?? null);
    const gap = smallestGap({ next, timeZone: 'Europe/Berlin', windows: gapWindows(at('2026-11-24T12:00:00Z'), 'Europe/Berlin'), stopBelow: 120_000 });
    expect(gap?.ms).toBe(120_000);
    expect(calls).toBeLessThan(MAX_GAP_STEPS); // about 3 walked days of 720 runs and one step per other day
    expect(calls).toBeGreaterThan(2 * 720);
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
      'Interval "30s" is too short: a task may repeat at most every 1m. Use an interval of 1m or more.',
    );
    expect(() => parseSchedule('interval', '0', rules('UTC', '2026-01-01T00:00:00Z'))).toThrow(/too short/);
  });

  it('refuse intervals below a raised floor, and accept the floor itself', () => {
    const hourly = rules('UTC', '2026-01-01T00:00:00Z', 3_600_000);
    expect(() => parseSchedule('interval', '59m59s', hourly)).toThrow('a task may repeat at most every 1h. Use an interval of 1h or more.');
    expect(parseSchedule('interval', '1h', hourly).value).toBe('1h');
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
