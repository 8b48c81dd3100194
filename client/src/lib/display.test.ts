import { beforeEach, expect, test } from 'vitest';
import { DisplayState } from './display.svelte.ts';
import { CODE, displayView, singleQ } from './testing/fixtures.ts';
import { fakeFactory } from './testing/fake-socket.ts';

let sockets: ReturnType<typeof fakeFactory>;
let now = 0;
beforeEach(() => {
  sockets = fakeFactory();
  now = 2_000_000;
});

test('the display connects read-only and follows display:view', () => {
  const d = new DisplayState(CODE, { socketFactory: sockets.factory, now: () => now, origin: 'http://class.local' });
  d.connect();
  const sock = sockets.last();
  expect(sock.auth).toEqual({ role: 'display', code: CODE });
  expect(d.scene).toBe('connecting');
  expect(d.joinUrl).toBe('http://class.local/join/123456');
  sock.serverConnect();
  sock.fire('display:view', displayView({ playerCount: 2, recentNicknames: ['Linus', 'Ada'] }));
  expect(d.scene).toBe('lobby');
  expect(d.view?.recentNicknames).toEqual(['Linus', 'Ada']);

  sock.fire('display:view', displayView({ phase: 'open', question: singleQ, deadline: 1_010_000, serverNow: 1_000_000 }));
  expect(d.scene).toBe('question');
  expect(d.remainingMs).toBe(10_000); // server time, whatever the projector's clock says
  now += 4_000;
  expect(d.remainingMs).toBe(6_000);

  sock.fire('display:view', displayView({ phase: 'reveal', question: singleQ, solution: { type: 'single', correct: [0] }, distribution: { answered: 2, eligible: 2, counts: [1, 1, 0, 0], correctCount: 1 } }));
  expect(d.scene).toBe('results');
  expect(d.remainingMs).toBeNull();

  sock.fire('display:view', displayView({ phase: 'reveal', question: singleQ, spotlight: { questionId: 'q-vm', prompt: 'Why?', text: 'Because.', author: null, grade: null } }));
  expect(d.scene).toBe('spotlight');

  sock.fire('display:view', displayView({ phase: 'leaderboard', leaderboard: [] }));
  expect(d.scene).toBe('leaderboard');
  sock.fire('display:view', displayView({ phase: 'finished', podium: [] }));
  expect(d.scene).toBe('podium');

  // the display never sends anything but a resync
  expect(sock.sent.every((s) => s.event === 'display:sync')).toBe(true);
});

test('a dropped projector connection shows reconnecting, then recovers', () => {
  const d = new DisplayState(CODE, { socketFactory: sockets.factory });
  d.connect();
  const sock = sockets.last();
  sock.serverConnect();
  sock.drop('ping timeout');
  expect(d.connection).toBe('reconnecting');
  sock.connectError('websocket error', { active: true });
  expect(d.connection).toBe('reconnecting');
  sock.serverConnect();
  expect(d.connection).toBe('online');
});
