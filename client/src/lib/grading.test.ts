import { expect, test } from 'vitest';
import { commonMarks, groupResponses, normaliseResponse } from './grading.ts';
import { gradingItem } from './testing/fixtures.ts';
import { countdownAnnouncement, formatClock } from './clock.ts';
import { parseRoute } from './router.svelte.ts';

test('normalisation: case, whitespace and punctuation do not split a group', () => {
  expect(normaliseResponse('  Containers   SHARE the host kernel!! ')).toBe('containers share the host kernel');
  expect(normaliseResponse('Hyper-V, obviously.')).toBe('hyperv obviously');
  expect(normaliseResponse('ｆｕｌｌｗｉｄｔｈ')).toBe('fullwidth');
});

test('justifications group only with the same chosen answer', () => {
  const groups = groupResponses([
    gradingItem({ playerId: 'a', kind: 'justify', answerSummary: 'A. Hardware', text: 'Because.' }),
    gradingItem({ playerId: 'b', kind: 'justify', answerSummary: 'B. Kernel', text: 'because' }),
    gradingItem({ playerId: 'c', kind: 'justify', answerSummary: 'A. Hardware', text: 'BECAUSE' }),
  ]);
  expect(groups.map((g) => g.items.map((i) => i.playerId))).toEqual([['a', 'c'], ['b']]);
});

test('commonMarks prefills only when the graded members agree', () => {
  const g = (marks: Record<string, number>) => ({ marks, comment: '', points: 1, gradedAt: 1, grader: 'i', version: 1 });
  const [same] = groupResponses([gradingItem({ playerId: 'a', grade: g({ x: 1, y: 2 }) }), gradingItem({ playerId: 'b', grade: g({ y: 2, x: 1 }) })]);
  expect(commonMarks(same!)).toEqual({ x: 1, y: 2 });
  const [diff] = groupResponses([gradingItem({ playerId: 'a', grade: g({ x: 1 }) }), gradingItem({ playerId: 'b', grade: g({ x: 0 }) })]);
  expect(commonMarks(diff!)).toBeNull();
});

test('countdown text and announcements', () => {
  expect(formatClock(59_001)).toBe('1:00');
  expect(formatClock(9_000)).toBe('0:09');
  expect(countdownAnnouncement(150_000, false)).toBe('3 minutes left');
  expect(countdownAnnouncement(45_000, false)).toBe('1 minute left');
  expect(countdownAnnouncement(25_000, false)).toBe('30 seconds left');
  expect(countdownAnnouncement(0, false)).toBe("Time's up");
  expect(countdownAnnouncement(5_000, true)).toBe('Paused');
});

test('routes', () => {
  expect(parseRoute('/', '?code=123456')).toEqual({ name: 'student', code: '123456' });
  expect(parseRoute('/join/654321')).toEqual({ name: 'student', code: '654321' });
  expect(parseRoute('/host')).toEqual({ name: 'console' });
  expect(parseRoute('/host/654321')).toEqual({ name: 'host', code: '654321' });
  expect(parseRoute('/display/654321')).toEqual({ name: 'display', code: '654321' });
  expect(parseRoute('/display/abc').name).toBe('not-found');
});
