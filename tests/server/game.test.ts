/**
 * Whole games through a real server (HTTP + Socket.IO on port 0) with real socket.io-clients,
 * once on the in-memory store and once on a real redis-server.
 */
import type { StudentView } from '@quizroom/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { closeAllClients, connect, connected, createSession, joinStudent, login, next, ok, request, startServer, testBank, type ClientSocket } from '../support/quizroom.ts';

type Backend = { name: string; url?: string; stop?: () => Promise<void> };
const backends: Backend[] = [{ name: 'memory' }, { name: 'redis' }];

describe.each(backends)('game over the $name store', (backend) => {
  let server: RunningServer;
  let cookie: string;

  beforeAll(async () => {
    if (backend.name === 'redis') {
      const redis = await startRedisServer();
      backend.url = redis.url;
      backend.stop = redis.stop;
    }
    server = await startServer(backend.url ? { redisUrl: backend.url, banks: [testBank()] } : { banks: [testBank()] });
    cookie = await login(server);
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await server?.close();
    await backend.stop?.();
  });

  async function setup(options = {}) {
    const { code, hostToken } = await createSession(server, cookie, 'test-bank', { maxLatencyCompensationMs: 0, ...options });
    const host = connect(server.url, { role: 'host', code, hostToken });
    const firstHostView = next(host, 'host:view');
    await connected(host);
    await firstHostView;
    return { code, hostToken, host };
  }

  it('plays a whole game: join, answer, close, reveal, leaderboard, end, export', async () => {
    const { code, host } = await setup();
    const writesBefore = { ...server.writes };
    const display = connect(server.url, { role: 'display', code });
    await connected(display);
    const ada = await joinStudent(server.url, code, 'Ada');
    const bob = await joinStudent(server.url, code, 'Bob');
    const cy = await joinStudent(server.url, code, 'Cy');
    const students = [ada, bob, cy];

    // Q1 single: Ada right, Bob wrong, Cy silent.
    const opened = students.map((s) => next(s.socket, 'question:opened', (q) => q.question.id === 'q-single'));
    const step = (await ok<{ step: number }>(request(host, 'game:start', { step: 0 }))).step;
    const q1 = await Promise.all(opened);
    expect(q1[0]!.question.choices).toEqual(['VM', 'Container', 'Emulator']);
    expect(JSON.stringify(q1)).not.toMatch(/correct|explanation/);
    const ack = await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));
    expect(ack.questionId).toBe('q-single');
    await ok(request(bob.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } }));

    const closedViews = students.map((s) => next(s.socket, 'student:view', (v) => v.phase === 'closed'));
    await ok(request(host, 'question:close', { step }));
    await Promise.all(closedViews);
    const revealed = students.map((s) => next(s.socket, 'student:view', (v) => v.phase === 'reveal'));
    const displayReveal = next(display, 'display:view', (v) => v.phase === 'reveal');
    await ok(request(host, 'question:reveal', {}));
    const [adaView, bobView, cyView] = (await Promise.all(revealed)) as StudentView[];
    expect(adaView!.reveal!.result.correct).toBe(true);
    expect(adaView!.reveal!.result.points).toBe(1000); // answered well within 500 ms
    expect(adaView!.me.rank).toBe(1);
    expect(bobView!.reveal!.result.correct).toBe(false);
    expect(cyView!.reveal!.result.answered).toBe(false);
    expect(adaView!.reveal!.solution).toEqual({ type: 'single', correct: [1] });
    const dv = await displayReveal;
    expect(dv.distribution!.counts).toEqual([1, 1, 0]);
    // The question and the closed and revealed views went to each student's socket by the server's own path,
    // straight to the TCP socket where nothing was queued ahead (direct-write.ts), else through Engine.IO.
    const direct = server.writes.direct - writesBefore.direct;
    expect(direct + server.writes.viaEngine - writesBefore.viaEngine).toBeGreaterThanOrEqual(9);
    expect(direct).toBeGreaterThan(0);

    // Q2 truefalse with a justification, then end mid-game from leaderboard.
    const q2 = students.map((s) => next(s.socket, 'question:opened', (q) => q.question.id === 'q-tf'));
    await ok(request(host, 'question:next', {}));
    await Promise.all(q2);
    await ok(request(cy.socket, 'answer:submit', { questionId: 'q-tf', answer: { type: 'truefalse', value: true }, justification: 'It manages VMs.' }));
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-tf', answer: { type: 'truefalse', value: true } }));
    await ok(request(host, 'question:close', {}));
    await ok(request(host, 'game:leaderboard', {}));
    const finished = next(display, 'display:view', (v) => v.phase === 'finished');
    const adaFinal = next(ada.socket, 'student:view', (v) => v.phase === 'finished');
    await ok(request(host, 'game:end', {}));
    const podium = await finished;
    expect(podium.podium!.map((e) => e.nickname)).toEqual(['Ada', 'Cy', 'Bob']);
    // Ada: 1000 + 1000 + a streak bonus of 100 for her second correct answer in a row (SC7).
    expect((await adaFinal).final).toEqual({ rank: 1, score: 2100, players: 3 });

    const csv = await fetch(`${server.url}/api/sessions/${code}/results.csv`, { headers: { cookie } });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    for (const name of ['Ada', 'Bob', 'Cy']) expect(text).toContain(name);
    expect(text).toContain('It manages VMs.');
    const json = (await (await fetch(`${server.url}/api/sessions/${code}/results.json`, { headers: { cookie } })).json()) as { players: unknown[] };
    expect(json.players).toHaveLength(3);
  });

  it('closes a question at its deadline by the server timer and refuses a late answer (A2)', async () => {
    const { code, host } = await setup({ timeMultiplier: 0.25 });
    const ada = await joinStudent(server.url, code, 'Ada');
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    const closed = await next(ada.socket, 'student:view', (v) => v.phase === 'closed');
    expect(closed.phase).toBe('closed');
    const late = await request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } });
    expect(late).toMatchObject({ ok: false, error: { code: 'TOO_LATE' } });
  });

  it('a student who reconnects with the token is the same player and cannot answer twice (A3)', async () => {
    const { code, host } = await setup();
    const ada = await joinStudent(server.url, code, 'Ada');
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));

    ada.socket.disconnect();
    const again = connect(server.url, { role: 'student', code, token: ada.token });
    const view = await next(again, 'student:view');
    expect(view.me.playerId).toBe(ada.playerId);
    expect(view.me.nickname).toBe('Ada');
    expect(view.phase).toBe('open');
    expect(view.myAnswer?.answer).toEqual({ type: 'single', choice: 1 });
    const dup = await request(again, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } });
    expect(dup).toMatchObject({ ok: false, error: { code: 'ALREADY_ANSWERED' } });
  });

  it('refuses every host event from a student or a display socket, and bad payloads change nothing', async () => {
    const { code, host } = await setup();
    const ada = await joinStudent(server.url, code, 'Ada');
    const display = connect(server.url, { role: 'display', code });
    await connected(display);
    const hostEvents = ['game:start', 'question:next', 'question:close', 'question:skip', 'question:reveal', 'game:leaderboard', 'question:pause', 'question:resume', 'game:end', 'player:kick', 'room:lock', 'room:unlock', 'grade:list', 'grade:save', 'spotlight:set', 'spotlight:clear', 'host:sync'] as const;
    for (const socket of [ada.socket, display] as ClientSocket[]) {
      for (const event of hostEvents) {
        const ack = await request(socket, event, {});
        expect(ack, `${event}`).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      }
    }
    const before = await ok(request(host, 'host:sync', {}));
    for (const bad of [null, 42, 'x', { questionId: 'q-single' }, { questionId: 'q-single', answer: { type: 'single', choice: 99 } }, { questionId: 'q-single', answer: { type: 'single', choice: 1 }, extra: 1 }]) {
      const ack = await request(ada.socket, 'answer:submit', bad);
      expect(ack.ok).toBe(false);
    }
    const student = await request(display, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } });
    expect(student).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const after = await ok(request(host, 'host:sync', {}));
    expect({ ...after, serverNow: 0 }).toEqual({ ...before, serverNow: 0 });
  });

  it('a kicked player is told, disconnected, and their token no longer works (K1)', async () => {
    const { code, host } = await setup();
    const ada = await joinStudent(server.url, code, 'Ada');
    const kicked = next(ada.socket, 'session:kicked');
    await ok(request(host, 'player:kick', { playerId: ada.playerId }));
    await kicked;
    const again = connect(server.url, { role: 'student', code, token: ada.token });
    await expect(connected(again)).rejects.toThrow(/no longer valid|removed/);
  });

  it('a host who reconnects with the host token regains control; a wrong token is refused', async () => {
    const { code, hostToken, host } = await setup();
    host.disconnect();
    const back = connect(server.url, { role: 'host', code, hostToken });
    const view = await next(back, 'host:view');
    expect(view.code).toBe(code);
    const intruder = connect(server.url, { role: 'host', code, hostToken: 'x'.repeat(43) });
    await expect(connected(intruder)).rejects.toThrow(/not valid/);
  });

  it('the student wire never carries a correct answer before reveal (P1)', async () => {
    const { code, host } = await setup();
    const ada = await joinStudent(server.url, code, 'Ada');
    const wire: string[] = [];
    ada.socket.onAny((event, payload) => wire.push(`${event} ${JSON.stringify(payload)}`));
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } }));
    const closed = next(ada.socket, 'student:view', (v) => v.phase === 'closed');
    await ok(request(host, 'question:close', {}));
    await closed;
    expect(wire.join('\n')).not.toMatch(/"correct"\s*:\s*true|"solution"\s*:\s*\{|explanation"\s*:\s*"/);
    const revealed = next(ada.socket, 'student:view', (v) => v.phase === 'reveal');
    await ok(request(host, 'question:reveal', {}));
    expect((await revealed).reveal!.solution).toEqual({ type: 'single', correct: [1] });
  });
});

describe('round trip for latency compensation (SC3)', () => {
  let server: RunningServer;
  afterEach(() => closeAllClients());
  afterAll(() => server?.close());

  it('is sampled once as the socket connects, then at every Engine.IO heartbeat, with no probe messages of its own', async () => {
    server = await startServer({ banks: [testBank()], pingIntervalMs: 100 });
    const cookie = await login(server);
    const { code } = await createSession(server, cookie, 'test-bank', {});
    const ada = await joinStudent(server.url, code, 'Ada');
    const onServer = [...server.io.of('/').sockets.values()].find((s) => s.data.playerId === ada.playerId)!;
    let probes = 0;
    ada.socket.on('latency:ping', () => probes++);
    // Four heartbeats: the server's ping, the client's pong (listened for after the server's own sampler). The
    // first may have been pinged before the socket connected (Engine.IO pings from its own handshake): not sampled.
    await new Promise<void>((resolve) => {
      let pongs = 0;
      onServer.conn.on('packet', (packet: { type: string }) => {
        if (packet.type === 'pong' && ++pongs === 4) resolve();
      });
    });
    expect(onServer.data.rttSamples).toBeGreaterThanOrEqual(4); // the connect probe + at least three heartbeats
    expect(onServer.data.rttMs).toBeGreaterThanOrEqual(0);
    expect(onServer.data.rttMs).toBeLessThan(1000);
    expect(probes).toBe(0); // the only latency:ping was the one at connect, before this listener
  });
});
