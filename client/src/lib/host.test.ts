import { beforeEach, describe, expect, test } from 'vitest';
import type { HostView } from '@quizroom/shared';
import { HostState } from './host.svelte.ts';
import { memoryStorage, type KeyValueStore } from './storage.ts';
import { CODE, HOST_TOKEN, gradingItem, hostView, openQ } from './testing/fixtures.ts';
import { fakeFactory, flush, type FakeSocket } from './testing/fake-socket.ts';

let storage: KeyValueStore;
let sockets: ReturnType<typeof fakeFactory>;

function connected(view: Partial<HostView> = {}): { h: HostState; sock: FakeSocket } {
  storage.setItem(`quizroom:host:${CODE}`, JSON.stringify({ hostToken: HOST_TOKEN, joinUrl: 'http://class.local/join/123456' }));
  const h = new HostState(CODE, { socketFactory: sockets.factory, storage, now: () => 1_000_000, origin: 'http://localhost' });
  expect(h.connect()).toBe(true);
  const sock = sockets.last();
  sock.serverConnect();
  sock.fire('host:view', hostView(view));
  return { h, sock };
}

const rubric = [
  { id: 'names', label: 'Names containers', points: 2, description: 'Says containers.' },
  { id: 'why', label: 'Justifies', points: 3, description: 'Explains the kernel sharing.' },
];

beforeEach(() => {
  storage = memoryStorage();
  sockets = fakeFactory();
});

describe('host connection', () => {
  test('connects with the stored host token and the stored join URL', () => {
    const { h, sock } = connected();
    expect(sock.auth).toEqual({ role: 'host', code: CODE, hostToken: HOST_TOKEN });
    expect(h.joinUrl).toBe('http://class.local/join/123456');
    expect(h.view?.players).toHaveLength(2);
  });

  test('a bare token string in storage works too', () => {
    storage.setItem(`quizroom:host:${CODE}`, HOST_TOKEN);
    const h = new HostState(CODE, { socketFactory: sockets.factory, storage, origin: 'http://localhost' });
    h.connect();
    expect(sockets.last().auth).toEqual({ role: 'host', code: CODE, hostToken: HOST_TOKEN });
    expect(h.joinUrl).toBe('http://localhost/join/123456');
  });

  test('without a token it does not connect and says why', () => {
    const h = new HostState(CODE, { socketFactory: sockets.factory, storage });
    expect(h.connect()).toBe(false);
    expect(sockets.sockets).toHaveLength(0);
    expect(h.refused).toMatch(/host key/);
  });
});

describe('run commands', () => {
  test('every command carries the current step', async () => {
    const { h, sock } = connected({ phase: 'lobby', step: 0 });
    const started = h.start();
    expect(sock.lastEmit('game:start')?.payload).toEqual({ step: 0 });
    expect(h.busy).toBe('game:start');
    expect(h.available['question:close']).toBe(false); // one command at a time
    sock.ackOk('game:start', { step: 1 });
    expect(await started).toBe(true);
    expect(h.busy).toBeNull();

    sock.fire('host:view', hostView({ phase: 'open', step: 7, questionIndex: 0 }));
    for (const [run, event] of [
      [() => h.close(), 'question:close'],
      [() => h.skip(), 'question:skip'],
      [() => h.pause(), 'question:pause'],
      [() => h.end(), 'game:end'],
    ] as const) {
      const p = run();
      expect(sock.lastEmit(event)?.payload).toEqual({ step: 7 });
      sock.ackOk(event, { step: 8 });
      await p;
    }
    sock.fire('host:view', hostView({ phase: 'closed', step: 8, questionIndex: 0 }));
    void h.reveal();
    expect(sock.lastEmit('question:reveal')?.payload).toEqual({ step: 8 });
  });

  test('a STALE refusal shows the message and resyncs', async () => {
    const { h, sock } = connected({ phase: 'closed', step: 3, questionIndex: 0 });
    const p = h.next();
    sock.ackError('question:next', 'STALE', 'Someone already moved on.');
    expect(await p).toBe(false);
    expect(h.error).toBe('Someone already moved on.');
    await flush();
    expect(sock.lastEmit('host:sync')).toBeDefined();
    sock.ackOk('host:sync', hostView({ phase: 'open', step: 4, questionIndex: 1 }));
    await flush();
    expect(h.step).toBe(4);
  });

  test('availability follows the phase', () => {
    const { h, sock } = connected({ phase: 'lobby' });
    expect(h.available['game:start']).toBe(true);
    expect(h.available['question:next']).toBe(false);
    sock.fire('host:view', hostView({ phase: 'open', step: 1, questionIndex: 0, pausedRemainingMs: 5000 }));
    expect(h.paused).toBe(true);
    expect(h.available['question:resume']).toBe(true);
    expect(h.available['question:pause']).toBe(false);
    expect(h.available['question:reveal']).toBe(false);
    sock.fire('host:view', hostView({ phase: 'reveal', step: 3, questionIndex: 0 }));
    expect(h.available['question:reveal']).toBe(false);
    expect(h.available['game:leaderboard']).toBe(true);
    expect(h.available['question:next']).toBe(true);
    sock.fire('host:view', hostView({ phase: 'finished', step: 9, questionIndex: 1 }));
    expect(Object.values(h.available).every((x) => !x)).toBe(true);
  });

  test('commands are refused locally while disconnected', async () => {
    const { h, sock } = connected({ phase: 'closed', step: 2, questionIndex: 0 });
    sock.drop();
    expect(h.connection).toBe('reconnecting');
    expect(await h.next()).toBe(false);
    expect(sock.emitsOf('question:next')).toHaveLength(0);
  });

  test('kick, lock and spotlight', () => {
    const { h, sock } = connected();
    void h.kick('p2');
    expect(sock.lastEmit('player:kick')?.payload).toEqual({ playerId: 'p2' });
    void h.toggleLock();
    expect(sock.lastEmit('room:lock')?.payload).toEqual({});
    void h.spotlight({ questionId: 'q-open', playerId: 'p1' });
    expect(sock.lastEmit('spotlight:set')?.payload).toEqual({ questionId: 'q-open', playerId: 'p1' });
  });
});

describe('grading', () => {
  const items = [
    gradingItem({ playerId: 'p1', nickname: 'Ada', text: 'Containers share the host kernel.' }),
    gradingItem({ playerId: 'p2', nickname: 'Linus', text: 'containers  share the host kernel' }),
    gradingItem({ playerId: 'p3', nickname: 'Grace', text: 'Use a VM for isolation!' }),
  ];

  function withQueue() {
    const ctx = connected({
      phase: 'closed',
      step: 4,
      questionIndex: 1,
      question: { ...openQ, explanation: 'x', solution: { type: 'open' }, rubric },
    });
    ctx.sock.ackOk('grade:list', items);
    return ctx;
  }

  test('the queue is listed on connect and grouped by normalised text', async () => {
    const { h, sock } = withQueue();
    expect(sock.emitsOf('grade:list')[0]!.payload).toEqual({});
    await flush();
    expect(h.gradingQuestion?.id).toBe('q-open');
    expect(h.rubricFor('q-open')).toEqual(rubric);
    expect(h.groups.map((g) => g.items.length)).toEqual([2, 1]);
    expect(h.ungradedCount()).toBe(3);
  });

  test('anonymised by default, names on request', async () => {
    const { h } = withQueue();
    await flush();
    expect(h.displayName(items[1]!)).toBe('Student 2');
    expect(h.displayName(items[2]!)).toMatch(/^Student \d+$/);
    h.anonymised = false;
    expect(h.displayName(items[1]!)).toBe('Linus');
  });

  test('group scoring applies the same marks to every member', async () => {
    const { h, sock } = withQueue();
    await flush();
    const group = h.groups[0]!;
    const saving = h.saveGroup(group, { names: 2, why: 1 }, 'Good start');
    for (const playerId of ['p1', 'p2']) {
      await flush();
      const sent = sock.lastEmit('grade:save')!;
      expect(sent.payload).toEqual({ questionId: 'q-open', playerId, marks: { names: 2, why: 1 }, comment: 'Good start' });
      sock.ackOk('grade:save', {
        ...items.find((i) => i.playerId === playerId)!,
        grade: { marks: { names: 2, why: 1 }, comment: 'Good start', points: 600, gradedAt: 5, grader: 'instructor', version: 1 },
      });
    }
    expect(await saving).toEqual({ saved: 2, failed: 0 });
    expect(h.ungradedCount()).toBe(1);
    // the default filter hides what is graded
    expect(h.groups.map((g) => g.text)).toEqual(['Use a VM for isolation!']);
    h.gradingFilter = 'graded';
    expect(h.queue).toHaveLength(2);
    expect(h.prefill(h.groups[0]!)).toEqual({ names: 2, why: 1 });
  });

  test('grade:updated adds and updates responses live; flags are client-side', async () => {
    const { h, sock } = withQueue();
    await flush();
    sock.fire('grade:updated', gradingItem({ playerId: 'p4', nickname: 'Alan', text: 'Use a VM for isolation' }));
    expect(h.groups.find((g) => g.text.startsWith('Use a VM'))?.items).toHaveLength(2);
    h.toggleFlag(items[2]!);
    h.gradingFilter = 'flagged';
    expect(h.queue.map((i) => i.playerId)).toEqual(['p3']);
    expect(sock.emitsOf('grade:save')).toHaveLength(0);
  });

  test('grouping can be turned off', async () => {
    const { h } = withQueue();
    await flush();
    h.groupSimilar = false;
    expect(h.groups).toHaveLength(3);
  });

  test('the question summaries carry rubrics: an earlier question is gradable without having been current here', async () => {
    const { h } = connected({ phase: 'open', step: 4, questionIndex: 1, question: { ...openQ, explanation: 'x', solution: { type: 'open' }, rubric } });
    expect(h.rubricFor('q-vm')).toEqual([{ id: 'why', label: 'Justifies', points: 2, description: 'Says why.' }]);
    // q-open's summary has none in this fixture: the current question's rubric is used.
    expect(h.rubricFor('q-open')).toEqual(rubric);
    expect(h.rubricFor('q-unknown')).toBeNull();
  });

  test('the spotlighted response is recognised by its player, not by its text', async () => {
    const spotlight = { questionId: 'q-open', playerId: 'p2', prompt: openQ.prompt, text: 'Containers share the host kernel.', author: null, grade: null };
    const { h } = connected({ phase: 'closed', step: 4, questionIndex: 1, spotlight });
    expect(h.isSpotlit(items[1]!)).toBe(true);
    // Ada wrote the same text, but her response is not the one on the display.
    expect(h.isSpotlit(items[0]!)).toBe(false);
    expect(h.isSpotlit({ questionId: 'q-vm', playerId: 'p2' })).toBe(false);
  });

  test('rubrics seen while a question is current are remembered across reloads', async () => {
    withQueue();
    const h2 = new HostState(CODE, { socketFactory: sockets.factory, storage });
    expect(h2.rubricFor('q-open')).toEqual(rubric);
  });
});
