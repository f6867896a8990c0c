import { describe, expect, it } from 'vitest';
import { formatTime, isoInZone, startOfDay, zonedParts } from '../src/time.js';

const at = (iso: string) => Date.parse(iso);

describe('zoned time', () => {
  it('gives the same fields for every instant of one second, and new ones for the next', () => {
    const second = at('2026-03-29T00:59:59Z'); // the last second of CET in Berlin that day
    expect(zonedParts(second, 'Europe/Berlin')).toMatchObject({ date: '2026-03-29', time: '01:59', seconds: '59', offset: '+01:00' });
    expect(zonedParts(second + 999, 'Europe/Berlin')).toEqual(zonedParts(second, 'Europe/Berlin'));
    expect(zonedParts(second + 1000, 'Europe/Berlin')).toMatchObject({ time: '03:00', seconds: '00', offset: '+02:00' });
  });

  it('keeps each time zone apart for the same instant', () => {
    const noon = at('2026-11-24T12:00:00Z');
    expect(isoInZone(noon, 'UTC')).toBe('2026-11-24T12:00:00+00:00');
    expect(isoInZone(noon, 'Asia/Kolkata')).toBe('2026-11-24T17:30:00+05:30');
    expect(formatTime(noon, 'America/New_York')).toBe('2026-11-24 07:00 -05:00');
    expect(isoInZone(noon, 'UTC')).toBe('2026-11-24T12:00:00+00:00');
  });

  it('stays right after many different instants went through it', () => {
    for (let i = 0; i < 200; i++) zonedParts(at('2026-01-01T00:00:00Z') + i * 7_777_777, 'Europe/Berlin');
    expect(formatTime(at('2026-07-01T10:00:00Z'), 'Europe/Berlin')).toBe('2026-07-01 12:00 +02:00');
    expect(startOfDay(at('2026-11-24T23:30:00Z'), 'Europe/Berlin')).toBe(at('2026-11-24T23:00:00Z'));
  });

  it('hands out fields no caller can change for the next one', () => {
    const parts = zonedParts(at('2026-11-24T12:00:00Z'), 'UTC');
    expect(() => ((parts as { date: string }).date = 'x')).toThrow();
  });
});
