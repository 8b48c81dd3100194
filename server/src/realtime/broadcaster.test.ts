/**
 * The broadcaster's cost-saving rules keep the views identical to the plain projections:
 * a student's view built from their own records and the shared ranking equals the view of the
 * whole state; personal views go to this process's sockets; the player count reaches students
 * only when it changed, at most once a second; other processes hear of a phase change once.
 */
import type { StudentView } from '@quizroom/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { displayView, newestPlayers, studentView, type GameState } from '../engine/index.ts';
import { answerCmd, apply, game, joinAll, pid, T0 } from '../engine/test-fixtures.ts';
import type { Logger } from '../logger.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { Broadcaster, rooms, type ViewSink } from './broadcaster.ts';

type Emit = { room: string; event: string; payload: unknown };

/**
 * A Socket.IO server as far as the broadcaster uses it; `local` emits are marked. The host,
 * display and `students` students of QZ1234 are here; what is written to a student's
 * connection (Engine.IO `write` of a Socket.IO packet) is recorded as a local emit to the room.
 */
function fakeIo(opts: { here?: boolean; students?: number; onWrite?: (event: string) => void } = {}) {
  const emits: (Emit & { local: boolean })[] = [];
  const serverSide: unknown[] = [];
  const handlers = new Map<string, (msg: unknown) => void>();
  const code = game().session.code;
  const studentIds = Array.from({ length: opts.students ?? 1 }, (_, i) => `student-${i}`);
  const here = new Map<string, Set<string>>(opts.here === false ? [] : [[rooms.host(code), new Set(['host-id'])], [rooms.display(code), new Set(['display-id'])], [rooms.students(code), new Set(studentIds)]]);
  const written = (packet: string) => {
    const [event, payload] = JSON.parse(packet.slice(1)) as [string, unknown]; // `2[event, payload]`
    emits.push({ room: rooms.students(code), event, payload, local: true });
    opts.onWrite?.(event);
  };
  const sockets = new Map(studentIds.map((id) => [id, { conn: { write: written } }]));
  const to = (local: boolean) => (room: string) => ({ emit: (event: string, payload: unknown) => void emits.push({ room, event, payload, local }) });
  const io = {
    to: to(false),
    local: { to: to(true) },
    of: () => ({ adapter: { rooms: here, serverCount: async () => 2 }, sockets }),
    in: () => ({ disconnectSockets: () => undefined }),
    on: (event: string, fn: (msg: unknown) => void) => void handlers.set(event, fn),
    serverSideEmit: (_event: string, msg: unknown) => void serverSide.push(msg),
  };
  return { io, emits, serverSide, handlers };
}

function sink() {
  const views: StudentView[] = [];
  const s: ViewSink = { emit: (_e, view) => void views.push(view) };
  return { s, views };
}

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const NAMES = ['Ada', 'Linus', 'Grace', 'Alan', 'Barbara'];

/** A game with every player's answer to the first question, closed and revealed. */
function revealedGame(): GameState {
  let s = joinAll(game(), NAMES);
  s = apply(s, { type: 'start' }, T0);
  NAMES.forEach((n, i) => (s = apply(s, answerCmd(pid(n), 'q-single', { type: 'single', choice: i % 2 }), T0 + 1000 + i * 100)));
  s = apply(s, { type: 'close' }, T0 + 5000);
  return apply(s, { type: 'reveal' }, T0 + 6000);
}

describe('Broadcaster', () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  it('a student view from their own records and the shared ranking equals the view of the whole state', () => {
    const { io } = fakeIo();
    const b = new Broadcaster(io as never, new MemoryStore(), Date.now, logger);
    for (const state of [revealedGame(), apply(revealedGame(), { type: 'end' }, T0 + 7000)]) {
      for (const name of NAMES) expect(b.studentViewOf(state, pid(name), T0)).toEqual(studentView(state, pid(name), T0));
    }
    // A fresher record of the player (from the store) takes precedence over the cached one.
    let stale = joinAll(game(), NAMES);
    stale = apply(stale, { type: 'start' }, T0);
    const fresh = apply(stale, answerCmd(pid('Ada'), 'q-single', { type: 'single', choice: 1 }), T0 + 500);
    const view = b.studentViewOf(stale, pid('Ada'), T0 + 600, fresh)!;
    expect(view.myAnswer).toEqual({ answer: { type: 'single', choice: 1 }, justification: null });
    expect(view).toEqual(studentView(fresh, pid('Ada'), T0 + 600));
    expect(b.studentViewOf(stale, 'nobody', T0)).toBeNull();
  });

  it('ranks a state once, whatever the number of views', () => {
    const { io } = fakeIo();
    const b = new Broadcaster(io as never, new MemoryStore(), Date.now, logger);
    const state = revealedGame();
    expect(b.ranking(state)).toBe(b.ranking(state));
    expect(b.ranking(state, 'final')).toBe(b.ranking(state, 'final'));
    expect(b.displayViewOf(state, T0)).toEqual(displayView(state, T0));
  });

  it('sends personal views to the sockets of this process, then host and display, and tells the other processes once', async () => {
    const { io, emits, serverSide } = fakeIo();
    const b = new Broadcaster(io as never, new MemoryStore(), Date.now, logger);
    b.enableCrossProcess();
    const state = revealedGame();
    const ada = sink();
    const ada2 = sink();
    const linus = sink();
    b.addPlayerSocket(state.session.code, pid('Ada'), ada.s);
    b.addPlayerSocket(state.session.code, pid('Ada'), ada2.s);
    b.addPlayerSocket(state.session.code, pid('Linus'), linus.s);
    b.onChange({ code: state.session.code, state, events: [{ type: 'question-revealed', index: 0, questionId: 'q-single' }], partial: false });
    expect(ada.views).toEqual([studentView(state, pid('Ada'), T0)]);
    expect(ada2.views).toEqual(ada.views);
    expect(linus.views).toEqual([studentView(state, pid('Linus'), T0)]);
    // Students first: host and display a moment later.
    expect(emits).toEqual([]);
    await vi.advanceTimersByTimeAsync(5);
    // No personal view went through the adapter; host and display got theirs, from this process.
    expect(emits.filter((e) => e.event === 'student:view')).toEqual([]);
    expect(emits.map((e) => [e.room, e.local]).sort()).toEqual([[rooms.display(state.session.code), true], [rooms.host(state.session.code), true]].sort());
    expect(serverSide.filter((m) => (m as { kind: string }).kind !== 'refresh')).toEqual([{ code: state.session.code, step: state.session.step, kind: 'sync' }]);

    b.removePlayerSocket(state.session.code, pid('Linus'), linus.s);
    expect(b.isConnected(state.session.code, pid('Linus'))).toBe(false);
    expect(b.isConnected(state.session.code, pid('Ada'))).toBe(true);
    b.stop();
  });

  it('another process\'s phase change: students here get their views from a fresh load', async () => {
    const { io, handlers } = fakeIo();
    const store = new MemoryStore();
    const b = new Broadcaster(io as never, store, Date.now, logger);
    const state = revealedGame();
    await store.createSession(state, { hostTokenHash: 'x' });
    const ada = sink();
    b.addPlayerSocket(state.session.code, pid('Ada'), ada.s);
    handlers.get('quizroom:announce')!({ code: state.session.code, step: state.session.step, kind: 'sync' });
    await vi.waitFor(() => expect(ada.views).toHaveLength(1));
    expect(ada.views[0]).toEqual(studentView(state, pid('Ada'), ada.views[0]!.serverNow));
    b.stop();
  });

  it('a phase change after close runs on the state of the close, without reloading the room; a student who joined since is loaded', async () => {
    const { io } = fakeIo({ here: false });
    const store = new MemoryStore();
    const b = new Broadcaster(io as never, store, Date.now, logger);
    let closed = joinAll(game({ allowLateJoin: true }), NAMES);
    closed = apply(closed, { type: 'start' }, T0);
    closed = apply(closed, answerCmd(pid('Ada'), 'q-single', { type: 'single', choice: 1 }), T0 + 1000);
    closed = apply(closed, { type: 'close' }, T0 + 5000);
    const withZed = joinAll(closed, ['Zed'], T0 + 5500);
    await store.createSession(withZed, { hostTokenHash: 'x' });
    const code = closed.session.code;
    const ada = sink();
    b.addPlayerSocket(code, pid('Ada'), ada.s);
    b.onChange({ code, state: closed, events: [{ type: 'question-closed', index: 0, questionId: 'q-single', skipped: false }], partial: false });
    expect(ada.views.map((v) => v.phase)).toEqual(['closed']);
    const zed = sink();
    b.addPlayerSocket(code, pid('Zed'), zed.s); // joined after the close
    await vi.advanceTimersByTimeAsync(2000);
    const revealed = apply(closed, { type: 'reveal' }, T0 + 7000);
    // The reveal is committed (the core only) before the broadcaster hears of it.
    expect(await store.acquireLease(code, 'test', Date.now(), 5000, null)).toBe(true);
    expect(await store.commit(code, 'test', withZed, { ...withZed, session: revealed.session })).toBe('ok');
    const loads = vi.spyOn(store, 'loadState');
    const core = { session: revealed.session, questions: revealed.questions, players: {}, answers: {} };
    b.onChange({ code, state: core, events: [{ type: 'question-revealed', index: 0, questionId: 'q-single' }], partial: true, coreOnly: true });
    await vi.waitFor(() => expect(zed.views).toHaveLength(1));
    expect(ada.views[1]).toEqual(studentView(revealed, pid('Ada'), ada.views[1]!.serverNow));
    expect(zed.views[0]).toEqual(studentView({ ...withZed, session: revealed.session }, pid('Zed'), zed.views[0]!.serverNow));
    expect(zed.views[0]!.reveal?.result.answered).toBe(false);
    expect(loads).toHaveBeenCalledTimes(1); // for Zed only
    b.stop();
  });

  it('students hear the player count only when it changed, at most once a second; answers alone send none', async () => {
    const { io, emits } = fakeIo();
    const store = new MemoryStore();
    const b = new Broadcaster(io as never, store, Date.now, logger);
    let state = joinAll(game(), ['Ada']);
    await store.createSession(state, { hostTokenHash: 'x' });
    const code = state.session.code;
    const counts = () => emits.filter((e) => e.event === 'room:count').map((e) => (e.payload as { playerCount: number }).playerCount);
    const join = async (name: string) => {
      const next = joinAll(state, [name]);
      await store.addPlayer(code, next.players[pid(name)]!, name.toLowerCase());
      state = next;
      b.onChange({ code, state: next, events: [{ type: 'player-joined', playerId: pid(name) }], partial: true });
    };
    b.scheduleRefresh(code);
    await vi.advanceTimersByTimeAsync(200);
    expect(counts()).toEqual([1]);
    await join('Linus');
    await vi.advanceTimersByTimeAsync(200);
    await join('Grace');
    await vi.advanceTimersByTimeAsync(200);
    expect(counts()).toEqual([1]); // changed, but less than a second after the last
    await vi.advanceTimersByTimeAsync(1000);
    expect(counts()).toEqual([1, 3]);
    // Host and display were refreshed meanwhile.
    expect(emits.filter((e) => e.event === 'host:view').length).toBeGreaterThanOrEqual(3);
    // A refresh without a change of the count (answers, connections) sends none.
    b.scheduleRefresh(code);
    await vi.advanceTimersByTimeAsync(2000);
    expect(counts()).toEqual([1, 3]);
    b.stop();
  });

  /** A lobby of one player with 600 student sockets here, a count on its way; `afterFirstSlice` runs once its first 250 are written. */
  async function countingLobby(afterFirstSlice: (b: Broadcaster, lobby: GameState) => void) {
    const store = new MemoryStore();
    const lobby = joinAll(game(), ['Ada']);
    await store.createSession(lobby, { hostTokenHash: 'x' });
    let b: Broadcaster | null = null;
    let countsWritten = 0;
    const { io, emits } = fakeIo({ students: 600, onWrite: (event) => void (event === 'room:count' && ++countsWritten === 250 && afterFirstSlice(b!, lobby)) });
    b = new Broadcaster(io as never, store, Date.now, logger);
    b.scheduleRefresh(lobby.session.code);
    await vi.advanceTimersByTimeAsync(200);
    return { b, store, lobby, code: lobby.session.code, written: (event: string) => emits.filter((e) => e.event === event).length };
  }

  it('the count is for the lobby: written a slice of the room per turn, dropped when the question opens, none after', async () => {
    // The host starts the question while the count is on its way: after its first slice.
    let started: GameState | null = null;
    const { b, store, lobby, code, written } = await countingLobby((b, lobby) => {
      started = apply(lobby, { type: 'start' }, T0 + 10);
      b.onChange({ code: lobby.session.code, state: started, events: [{ type: 'question-opened', index: 0, questionId: started.session.current!.questionId }], partial: false });
    });
    expect([written('room:count'), written('question:opened')]).toEqual([250, 600]);
    // The start as the game service stores it; then a student joins during the question: no count (the next view carries it).
    expect(await store.acquireLease(code, 'host', T0, 5000, null)).toBe(true);
    expect(await store.commit(code, 'host', lobby, started!)).toBe('ok');
    await store.releaseLease(code, 'host');
    const state = joinAll(started!, ['Linus']);
    expect(await store.addPlayer(code, state.players[pid('Linus')]!, 'linus')).toBe('ok');
    b.onChange({ code, state, events: [{ type: 'player-joined', playerId: pid('Linus') }], partial: true });
    await vi.advanceTimersByTimeAsync(5000);
    expect(written('room:count')).toBe(250);
    b.stop();
  });

  it('a host command on its way pauses the count; if it leaves the room in the lobby, the rest follows', async () => {
    const { b, written } = await countingLobby((b, lobby) => b.phaseCommandArrived(lobby.session.code));
    expect(written('room:count')).toBe(250);
    await vi.advanceTimersByTimeAsync(100);
    expect(written('room:count')).toBe(600);
    b.stop();
  });

  it('the newest players without sorting everyone: the same as a stable sort by join time', () => {
    let s = game();
    const names = Array.from({ length: 60 }, (_, i) => `P${i}`);
    names.forEach((n, i) => (s = joinAll(s, [n], T0 + ((i * 7919) % 23) * 1000))); // shuffled join times, with ties
    s = apply(s, { type: 'kick', playerId: pid('P3') });
    const sorted = Object.values(s.players)
      .filter((p) => !p.kicked)
      .sort((a, b) => b.joinedAt - a.joinedAt);
    for (const k of [0, 1, 5, 40, 59, 100]) expect(newestPlayers(s, k)).toEqual(sorted.slice(0, k));
  });
});
