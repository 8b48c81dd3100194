/**
 * Two server processes' worth of servers on one real redis-server, broadcasting through the
 * Socket.IO Redis adapter: the host on one, students on the other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { closeAllClients, connect, connected, createSession, joinStudent, login, next, ok, request, startServer, testBank } from '../support/quizroom.ts';

describe('scale-out: two servers on one Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let a: RunningServer;
  let b: RunningServer;
  let cookie: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    a = await startServer({ redisUrl: redis.url, banks: [testBank()] });
    b = await startServer({ redisUrl: redis.url, banks: [testBank()] });
    cookie = await login(a);
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('host on A, students on B: answers accepted by B, broadcasts cross over, the game completes', async () => {
    const { code, hostToken } = await createSession(a, cookie, 'test-bank', { maxLatencyCompensationMs: 0 });
    const host = connect(a.url, { role: 'host', code, hostToken });
    await connected(host);
    const ada = await joinStudent(b.url, code, 'Ada');
    const bob = await joinStudent(b.url, code, 'Bob');
    const opened = [ada, bob].map((s) => next(s.socket, 'question:opened'));
    await ok(request(host, 'game:start', {}));
    await Promise.all(opened);
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));
    await ok(request(bob.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 2 } }));
    const hostSees = next(host, 'host:view', (v) => v.distribution?.answered === 2);
    await hostSees;
    await ok(request(host, 'question:close', {}));
    const revealed = next(ada.socket, 'student:view', (v) => v.phase === 'reveal');
    await ok(request(host, 'question:reveal', {}));
    expect((await revealed).reveal!.result.correct).toBe(true);
    const finished = next(bob.socket, 'student:view', (v) => v.phase === 'finished');
    await ok(request(host, 'game:end', {}));
    expect((await finished).final).toEqual({ rank: 2, score: 0, players: 2 });
  });

  it('the question timer keeps working when the host\'s server goes away', async () => {
    const third = await startServer({ redisUrl: redis.url, banks: [testBank()] });
    // The instructor cookie is signed with a key derived from the shared password: any server accepts it.
    const { code, hostToken } = await createSession(third, cookie, 'test-bank', { timeMultiplier: 0.25, maxLatencyCompensationMs: 0 });
    const host = connect(third.url, { role: 'host', code, hostToken });
    await connected(host);
    const ada = await joinStudent(b.url, code, 'Ada');
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    await third.close(); // the process that opened the question (and owns its timer) is gone
    const closed = await next(ada.socket, 'student:view', (v) => v.phase === 'closed');
    expect(closed.phase).toBe('closed');
  });

  it('adapter subscriptions come back after a Redis restart', async () => {
    const { code, hostToken } = await createSession(a, cookie, 'test-bank', { maxLatencyCompensationMs: 0 });
    const host = connect(a.url, { role: 'host', code, hostToken });
    await connected(host);
    const ada = await joinStudent(b.url, code, 'Ada');
    await redis.restart();
    // Commands may be refused while the clients reconnect; retry until the store answers.
    const healthy = async (server: RunningServer) => {
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${server.url}/healthz`);
        if (res.ok) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('server did not become healthy');
    };
    await healthy(a);
    await healthy(b);
    const opened = next(ada.socket, 'question:opened');
    let started = await request(host, 'game:start', {});
    for (let i = 0; !started.ok && i < 50; i++) started = await request(host, 'game:start', {});
    expect(started.ok).toBe(true);
    expect((await opened).question.id).toBe('q-single'); // broadcast from A reached a student on B
  });
});
