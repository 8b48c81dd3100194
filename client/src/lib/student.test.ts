import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { StudentView } from '@quizroom/shared';
import { StudentState } from './student.svelte.ts';
import { memoryStorage, type KeyValueStore } from './storage.ts';
import { CODE, TOKEN, openQ, singleQ, studentView } from './testing/fixtures.ts';
import { fakeFactory, flush, type FakeSocket } from './testing/fake-socket.ts';

let now = 1_000_000;
let storage: KeyValueStore;
let sockets: ReturnType<typeof fakeFactory>;

function make(): StudentState {
  return new StudentState({ socketFactory: sockets.factory, storage, now: () => now, setTimeout: () => 0, clearTimeout: () => {} });
}

/** A joined student with an open question on screen. */
async function joined(view: Partial<StudentView> = {}): Promise<{ s: StudentState; sock: FakeSocket }> {
  storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN }));
  const s = make();
  s.start(CODE);
  const sock = sockets.last();
  sock.serverConnect();
  sock.fire('student:view', studentView(view));
  return { s, sock };
}

const openView = (over: Partial<StudentView> = {}): Partial<StudentView> => ({
  phase: 'open',
  step: 1,
  question: singleQ,
  deadline: 1_020_000,
  ...over,
});

beforeEach(() => {
  now = 1_000_000;
  storage = memoryStorage();
  sockets = fakeFactory();
});

describe('joining', () => {
  test('a guest joins with code + nickname; the token is stored and used for reconnects', async () => {
    const s = make();
    s.start(CODE);
    expect(sockets.sockets).toHaveLength(0); // nothing stored yet: no connection until "Join"
    const joining = s.join(CODE, '  Ada  ');
    const sock = sockets.last();
    expect(sock.auth).toEqual({ role: 'student', code: CODE });
    expect(s.joining).toBe(true);
    sock.serverConnect();
    expect(sock.lastEmit('player:join')?.payload).toEqual({ nickname: 'Ada' });
    sock.ackOk('player:join', { playerId: 'p1', token: TOKEN, nickname: 'Ada' });
    await flush();
    expect(JSON.parse(storage.getItem(`quizroom:player:${CODE}`)!)).toMatchObject({ code: CODE, token: TOKEN });
    expect(sock.auth).toEqual({ role: 'student', code: CODE, token: TOKEN });
    expect(s.joined).toBe(true);
    sock.ackOk('student:sync', studentView());
    expect(await joining).toBe(true);
    expect(s.view?.me.nickname).toBe('Ada');
    expect(s.joining).toBe(false);
  });

  test('a refused join shows the server message and stores nothing', async () => {
    const s = make();
    const joining = s.join(CODE, 'Ada');
    const sock = sockets.last();
    sock.serverConnect();
    sock.ackError('player:join', 'NICKNAME_TAKEN', 'That nickname is taken in this game.');
    expect(await joining).toBe(false);
    expect(s.joinError).toBe('That nickname is taken in this game.');
    expect(storage.getItem(`quizroom:player:${CODE}`)).toBeNull();
    expect(s.joined).toBe(false);
  });

  test('generated names: offered over the guest socket, picked on the same socket', async () => {
    const s = make();
    const names = s.requestNames(CODE);
    const sock = sockets.last();
    sock.serverConnect();
    sock.ackOk('player:names', { names: ['Brave Otter', 'Calm Lynx'] });
    expect(await names).toEqual(['Brave Otter', 'Calm Lynx']);
    expect(s.suggestions).toEqual(['Brave Otter', 'Calm Lynx']);
    const joining = s.join(CODE, 'Ada');
    expect(sockets.sockets).toHaveLength(1); // same guest socket
    sock.ackError('player:join', 'NICKNAME_INVALID', 'pick one of the suggested names');
    expect(await joining).toBe(false);
    expect(s.joinError).toBe('pick one of the suggested names');
    expect(sock.emitsOf('player:names')).toHaveLength(2); // a fresh set is offered
    sock.ackOk('player:names', { names: ['Jolly Puffin'] });
    await flush();
    void s.join(CODE, 'Jolly Puffin');
    sock.ackOk('player:join', { playerId: 'p9', token: TOKEN, nickname: 'Jolly Puffin' });
    await flush();
    expect(s.joined).toBe(true);
    expect(s.suggestions).toEqual([]);
  });

  test('a guest refused for too many wrong codes sees the message instead of endless retries', () => {
    const s = make();
    void s.join('111111', 'Ada');
    sockets.last().connectError('too many wrong codes: wait a minute', { code: 'RATE_LIMITED' });
    expect(s.joinError).toBe('too many wrong codes: wait a minute');
    expect(s.connection).toBe('offline');
  });

  test('client-side checks: 6-digit code and a nickname', async () => {
    const s = make();
    expect(await s.join('12', 'Ada')).toBe(false);
    expect(s.joinError).toMatch(/6 digits/);
    expect(await s.join(CODE, '   ')).toBe(false);
    expect(s.joinError).toMatch(/nickname/i);
    expect(sockets.sockets).toHaveLength(0);
  });

  test('a wrong code refused at the handshake ends the attempt with the message', async () => {
    const s = make();
    const joining = s.join('999999', 'Ada');
    sockets.last().connectError('No game with that code.', { code: 'NOT_FOUND' });
    expect(s.joinError).toBe('No game with that code.');
    expect(s.joining).toBe(false);
    expect(s.connection).toBe('offline');
    void joining;
  });

  test('a reload resumes the stored player with token auth', async () => {
    storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN, nickname: 'Ada' }));
    const s = make();
    s.start(CODE);
    const sock = sockets.last();
    expect(sock.auth).toEqual({ role: 'student', code: CODE, token: TOKEN });
    expect(s.connection).toBe('connecting');
    sock.serverConnect();
    expect(s.connection).toBe('online');
  });

  test('a stored token the server no longer accepts is forgotten', async () => {
    storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN }));
    const s = make();
    s.start(CODE);
    sockets.last().connectError('This game has ended.', { code: 'UNAUTHORIZED' });
    expect(s.joined).toBe(false);
    expect(storage.getItem(`quizroom:player:${CODE}`)).toBeNull();
    expect(s.joinError).toBe('This game has ended.');
  });
});

describe('connection', () => {
  test('a dropped network shows "reconnecting" and comes back as the same player', async () => {
    const { s, sock } = await joined();
    sock.drop('transport close');
    expect(s.connection).toBe('reconnecting');
    expect(s.statusMessage).toMatch(/Reconnecting/);
    expect(sock.auth).toEqual({ role: 'student', code: CODE, token: TOKEN });
    sock.serverConnect();
    expect(s.connection).toBe('online');
  });

  test('server:restarting shows a notice and a server-side disconnect is retried', async () => {
    const timers: (() => void)[] = [];
    storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN }));
    const s = new StudentState({ socketFactory: sockets.factory, storage, now: () => now, setTimeout: (fn) => timers.push(fn), clearTimeout: () => {} });
    s.start(CODE);
    const sock = sockets.last();
    sock.serverConnect();
    sock.fire('server:restarting', { retryAfterMs: 2000 });
    expect(s.notice).toMatch(/restarting/);
    sock.drop('io server disconnect');
    expect(s.connection).toBe('reconnecting');
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(sock.connectCalls).toBe(1);
    sock.serverConnect();
    expect(s.notice).toBeNull();
  });

  test('latency:ping is echoed at once', async () => {
    const { sock } = await joined();
    let echoed: number | null = null;
    sock.fire('latency:ping', 42, (x: number) => (echoed = x));
    expect(echoed).toBe(42);
  });

  test('kicked: token cleared, socket closed, message shown', async () => {
    const { s, sock } = await joined();
    sock.fire('session:kicked', { message: 'The instructor removed you.' });
    expect(s.kicked).toBe('The instructor removed you.');
    expect(s.joined).toBe(false);
    expect(storage.getItem(`quizroom:player:${CODE}`)).toBeNull();
    expect(sock.disconnectCalls).toBe(1);
    expect(s.connection).toBe('offline');
  });

  test('room:count updates the player count', async () => {
    const { s, sock } = await joined();
    sock.fire('room:count', { playerCount: 17 });
    expect(s.view?.playerCount).toBe(17);
  });
});

describe('questions', () => {
  test('question:opened merges into the view; myAnswer resets only for a new question', async () => {
    const { s, sock } = await joined({ phase: 'reveal', question: { ...singleQ, id: 'q-old' }, myAnswer: { answer: { type: 'single', choice: 1 }, justification: null } });
    sock.fire('question:opened', { step: 5, question: singleQ, deadline: 1_030_000, pausedRemainingMs: null, serverNow: 1_000_500 });
    expect(s.view?.phase).toBe('open');
    expect(s.view?.step).toBe(5);
    expect(s.question?.id).toBe('q-vm');
    expect(s.view?.myAnswer).toBeNull();
    expect(s.view?.reveal).toBeNull();
    // pause of the same question: the answer stays
    s.view = { ...s.view!, myAnswer: { answer: { type: 'single', choice: 0 }, justification: null } };
    sock.fire('question:opened', { step: 6, question: singleQ, deadline: null, pausedRemainingMs: 12_000, serverNow: 1_001_000 });
    expect(s.view?.myAnswer?.answer).toEqual({ type: 'single', choice: 0 });
    expect(s.paused).toBe(true);
    expect(s.remainingMs).toBe(12_000);
  });

  test('the countdown runs on server time (offset from serverNow)', async () => {
    now = 500_000; // the phone's clock is far behind the server's
    const { s } = await joined(openView({ serverNow: 1_000_000, deadline: 1_020_000 }));
    expect(s.offset).toBe(500_000);
    expect(s.remainingMs).toBe(20_000);
    now += 15_000;
    expect(s.remainingMs).toBe(5_000);
    expect(s.countdownStatus).toBe('10 seconds left');
    now += 10_000;
    expect(s.remainingMs).toBe(0);
    expect(s.timeUp).toBe(true);
    expect(s.canAnswer).toBe(false);
  });

  test('"answer received" only after the ack', async () => {
    const { s, sock } = await joined(openView());
    expect(s.canAnswer).toBe(true);
    const sending = s.submitSingle(2);
    expect(sock.lastEmit('answer:submit')?.payload).toEqual({ questionId: 'q-vm', answer: { type: 'single', choice: 2 } });
    expect(s.submitting).toBe(true);
    expect(s.answered).toBe(false);
    expect(s.statusMessage).toBe('');
    sock.ackOk('answer:submit', { questionId: 'q-vm', receivedAt: 1_000_100, textVersion: 0 });
    expect(await sending).toBe(true);
    expect(s.answered).toBe(true);
    expect(s.submitting).toBe(false);
    expect(s.statusMessage).toBe('Answer received');
    expect(s.view?.myAnswer?.answer).toEqual({ type: 'single', choice: 2 });
  });

  test('a refused answer shows the server message and is not "received"', async () => {
    const { s, sock } = await joined(openView());
    const sending = s.submitSingle(0);
    sock.ackError('answer:submit', 'TOO_LATE', 'Too late: the question closed.');
    expect(await sending).toBe(false);
    expect(s.answered).toBe(false);
    expect(s.submitError).toBe('Too late: the question closed.');
  });

  test('ALREADY_ANSWERED (our ack was lost) counts as received', async () => {
    const { s, sock } = await joined(openView());
    const sending = s.submitSingle(0);
    sock.ackError('answer:submit', 'ALREADY_ANSWERED');
    expect(await sending).toBe(true);
    expect(s.answered).toBe(true);
  });

  test('an answer in flight when the network drops is re-sent after the resync, once', async () => {
    const { s, sock } = await joined(openView());
    void s.submitMulti([0]); // wrong type for a single question
    expect(s.submitError).toMatch(/does not fit/);
    void s.submitSingle(1);
    sock.drop();
    sock.serverConnect();
    sock.fire('student:view', studentView(openView())); // the server never got it
    const sent = sock.emitsOf('answer:submit');
    expect(sent).toHaveLength(2);
    expect(sent[1]!.payload).toEqual(sent[0]!.payload);
    sock.ackOk('answer:submit', { questionId: 'q-vm', receivedAt: 1, textVersion: 0 });
    await flush();
    expect(s.answered).toBe(true);
  });

  test('no ack on a connection that looks alive: reconnect after the watchdog and re-send', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN }));
    const s = new StudentState({ socketFactory: sockets.factory, storage, now: () => now, setTimeout: (fn, ms) => timers.push({ fn, ms }), clearTimeout: () => {} });
    s.start(CODE);
    const sock = sockets.last();
    sock.serverConnect();
    sock.fire('student:view', studentView(openView()));
    void s.submitSingle(3);
    const watchdog = timers.find((t) => t.ms === 5000)!;
    watchdog.fn(); // the ack never came: the transport was dead
    expect(sock.disconnectCalls).toBe(1);
    expect(sock.connectCalls).toBe(1);
    expect(s.connection).toBe('reconnecting');
    sock.serverConnect();
    sock.fire('student:view', studentView(openView()));
    expect(sock.emitsOf('answer:submit')).toHaveLength(2);
    sock.lastEmit('answer:submit')!.ack!({ ok: true, data: { questionId: 'q-vm', receivedAt: 1, textVersion: 0 } });
    await flush();
    expect(s.answered).toBe(true);
  });

  test('waking up: a heartbeat without an answer forces a fresh connection', async () => {
    vi.useFakeTimers();
    try {
      const events = new EventTarget();
      storage.setItem(`quizroom:player:${CODE}`, JSON.stringify({ code: CODE, token: TOKEN }));
      const s = new StudentState({ socketFactory: sockets.factory, storage, events });
      s.start(CODE);
      const sock = sockets.last();
      sock.serverConnect();
      events.dispatchEvent(new Event('online'));
      expect(sock.lastEmit('student:sync')).toBeDefined();
      await vi.advanceTimersByTimeAsync(4000); // no answer: the transport is dead
      expect(sock.disconnectCalls).toBe(1);
      expect(sock.connectCalls).toBe(1);
      // the network comes back while Socket.IO is still backing off: connect at once
      sock.drop();
      events.dispatchEvent(new Event('online'));
      expect(sock.connectCalls).toBe(2);
      s.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  test('an answer the server did store is settled by the resync', async () => {
    const { s, sock } = await joined(openView());
    void s.submitSingle(1);
    sock.drop();
    sock.serverConnect();
    sock.fire('student:view', studentView(openView({ myAnswer: { answer: { type: 'single', choice: 1 }, justification: null } })));
    expect(sock.emitsOf('answer:submit')).toHaveLength(1);
    expect(s.answered).toBe(true);
    expect(s.submitting).toBe(false);
  });

  test('every question type sends its AnswerInput', async () => {
    const cases = [
      { q: { ...singleQ, type: 'multi' as const }, run: (s: StudentState) => s.submitMulti([2, 0]), answer: { type: 'multi', choices: [0, 2] } },
      { q: { ...singleQ, type: 'truefalse' as const, choices: undefined }, run: (s: StudentState) => s.submitTrueFalse(false), answer: { type: 'truefalse', value: false } },
      { q: { ...singleQ, type: 'short' as const }, run: (s: StudentState) => s.submitShort('  Hyper-V '), answer: { type: 'short', text: 'Hyper-V' } },
      { q: { ...singleQ, type: 'numeric' as const }, run: (s: StudentState) => s.submitNumeric(3.5), answer: { type: 'numeric', value: 3.5 } },
      { q: { ...singleQ, type: 'order' as const, items: ['a', 'b', 'c'] }, run: (s: StudentState) => s.submitOrder([2, 0, 1]), answer: { type: 'order', order: [2, 0, 1] } },
      { q: { ...singleQ, type: 'poll' as const }, run: (s: StudentState) => s.submitPoll([3]), answer: { type: 'poll', choices: [3] } },
    ];
    for (const c of cases) {
      sockets = fakeFactory();
      storage = memoryStorage();
      const { s, sock } = await joined(openView({ question: { ...c.q, justify: undefined } }));
      void c.run(s);
      expect(sock.lastEmit('answer:submit')?.payload).toEqual({ questionId: 'q-vm', answer: c.answer });
    }
  });
});

describe('drafts', () => {
  const draftKey = `quizroom:draft:${CODE}:q-vm`;

  test('a justification draft is kept in storage until the server has it', async () => {
    const { s, sock } = await joined(openView());
    expect(s.textKind).toBe('justify');
    s.setDraft('Because a hypervisor emulates hardware.');
    expect(storage.getItem(draftKey)).toBe('Because a hypervisor emulates hardware.');
    // sent along with the answer
    const sending = s.submitSingle(0);
    expect(sock.lastEmit('answer:submit')?.payload).toEqual({
      questionId: 'q-vm',
      answer: { type: 'single', choice: 0 },
      justification: 'Because a hypervisor emulates hardware.',
    });
    expect(storage.getItem(draftKey)).not.toBeNull(); // not acknowledged yet
    sock.ackOk('answer:submit', { questionId: 'q-vm', receivedAt: 1, textVersion: 1 });
    await sending;
    expect(storage.getItem(draftKey)).toBeNull();
    expect(s.sentText).toBe('Because a hypervisor emulates hardware.');
    expect(s.draftDirty).toBe(false);
  });

  test('editing a sent justification uses answer:justify and clears the draft after the ack', async () => {
    const { s, sock } = await joined(openView({ myAnswer: { answer: { type: 'single', choice: 0 }, justification: 'first' } }));
    expect(s.draft).toBe('first');
    s.setDraft('second thoughts');
    expect(s.draftDirty).toBe(true);
    expect(s.canSendText).toBe(true);
    const sending = s.sendJustification();
    expect(sock.lastEmit('answer:justify')?.payload).toEqual({ questionId: 'q-vm', text: 'second thoughts' });
    sock.ackOk('answer:justify', { questionId: 'q-vm', receivedAt: 1, textVersion: 2 });
    expect(await sending).toBe(true);
    expect(storage.getItem(draftKey)).toBeNull();
    expect(s.view?.myAnswer?.justification).toBe('second thoughts');
  });

  test('a draft survives a reload', async () => {
    storage.setItem(draftKey, 'half-written thought');
    const { s } = await joined(openView());
    expect(s.draft).toBe('half-written thought');
    expect(s.draftDirty).toBe(true);
  });

  test('open answers: submit, then resubmit the edited text with answer:submit', async () => {
    const { s, sock } = await joined(openView({ question: openQ }));
    const key = `quizroom:draft:${CODE}:q-open`;
    expect(s.textKind).toBe('open');
    s.setDraft('Use containers.');
    expect(storage.getItem(key)).toBe('Use containers.');
    const first = s.submitOpen();
    sock.ackOk('answer:submit', { questionId: 'q-open', receivedAt: 1, textVersion: 1 });
    await first;
    expect(storage.getItem(key)).toBeNull();
    expect(s.answered).toBe(true);
    s.setDraft('Use containers, because they share the kernel.');
    expect(s.canSendText).toBe(true);
    void s.submitOpen();
    expect(sock.lastEmit('answer:submit')?.payload).toEqual({ questionId: 'q-open', answer: { type: 'open', text: 'Use containers, because they share the kernel.' } });
  });
});

describe('results', () => {
  test('reveal, grades and the final rank come from student:view', async () => {
    const { s, sock } = await joined(openView());
    sock.fire(
      'student:view',
      studentView({
        phase: 'reveal',
        question: singleQ,
        me: { playerId: 'p1', nickname: 'Ada', score: 950, rank: 2, streak: 1, consent: false },
        reveal: {
          solution: { type: 'single', correct: [0] },
          explanation: 'A hypervisor presents virtual hardware.',
          result: { questionId: 'q-vm', answered: true, correct: true, fraction: 1, points: 950, streakBonus: 0, streak: 1, grade: null, awaitingGrade: true },
        },
      }),
    );
    expect(s.view?.reveal?.result.correct).toBe(true);
    expect(s.view?.reveal?.result.awaitingGrade).toBe(true);
    sock.fire('student:view', studentView({ phase: 'finished', final: { rank: 1, score: 1400, players: 12 } }));
    expect(s.view?.final?.rank).toBe(1);
  });

  test('consent is sent and remembered', async () => {
    const { s, sock } = await joined();
    const p = s.setConsent(true);
    expect(sock.lastEmit('player:consent')?.payload).toEqual({ allow: true });
    sock.ackOk('player:consent', { allow: true });
    await p;
    expect(s.consent).toBe(true);
    expect(storage.getItem(`quizroom:consent:${CODE}`)).toBe('1');
  });

  test('the consent the server holds wins over this device\'s memory, except while a change is on its way', async () => {
    storage.setItem(`quizroom:consent:${CODE}`, '0');
    const { s, sock } = await joined({ me: { playerId: 'p1', nickname: 'Ada', score: 0, rank: null, streak: 0, consent: true } });
    expect(s.consent).toBe(true); // given on another device, or before this browser's storage was cleared
    expect(storage.getItem(`quizroom:consent:${CODE}`)).toBe('1');
    const p = s.setConsent(false);
    // A view computed before the change arrives first: it does not flip the box back.
    sock.fire('student:view', studentView({ me: { playerId: 'p1', nickname: 'Ada', score: 0, rank: null, streak: 0, consent: true } }));
    expect(s.consent).toBe(false);
    sock.ackOk('player:consent', { allow: false });
    await p;
    sock.fire('student:view', studentView({ me: { playerId: 'p1', nickname: 'Ada', score: 0, rank: null, streak: 0, consent: false } }));
    expect(s.consent).toBe(false);
  });

  test('a refused consent change is undone', async () => {
    const { s, sock } = await joined();
    const p = s.setConsent(true);
    sock.ackError('player:consent', 'RATE_LIMITED', 'Slow down.');
    await p;
    expect(s.consent).toBe(false);
    expect(storage.getItem(`quizroom:consent:${CODE}`)).toBe('0');
  });
});
