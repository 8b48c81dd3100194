/**
 * Floods (issue 7): a bot source hammering joins, code probing, and one socket spamming
 * events. The real class keeps playing. Clients are told apart by X-Forwarded-For behind one
 * trusted proxy (TRUST_PROXY=1), as in a deployment behind nginx.
 */
import type { HostView } from '@quizroom/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { closeAllClients, connect, connected, createSession, joinStudent, login, next, ok, request, startServer, testBank, type ClientSocket } from '../support/quizroom.ts';

const BOT_IP = { 'x-forwarded-for': '203.0.113.66' };
const studentIp = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` });

describe('floods', () => {
  let server: RunningServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer({ banks: [testBank()], env: { TRUST_PROXY: '1' } });
    cookie = await login(server);
  });
  afterEach(() => closeAllClients());
  afterAll(() => server?.close());

  it('1,000 bot join attempts from one source are throttled, the host sees them and locks, 30 real students get in and play', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'test-bank', { profanityFilter: false });
    const host = connect(server.url, { role: 'host', code, hostToken });
    await connected(host);

    // The bot: 1,000 join attempts with random nicknames, 50 at a time, each on its own connection.
    const outcomes: Record<string, number> = {};
    const bot = async (n: number) => {
      const s = connect(server.url, { role: 'student', code }, BOT_IP);
      try {
        await connected(s);
        const ack = await request(s, 'player:join', { nickname: `bot ${n} ${(n * 7919) % 10007}` });
        const key = ack.ok ? 'admitted' : ack.error.code;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      } catch (err) {
        const key = (err as { data?: { code?: string } }).data?.code ?? 'connect-error';
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      } finally {
        s.disconnect();
      }
    };
    const floodStarted = performance.now();
    let floodSeconds = 0;
    const flood = (async () => {
      for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 50 }, (_, i) => bot(batch * 50 + i)));
      floodSeconds = (performance.now() - floodStarted) / 1000;
    })();

    // Meanwhile the real class joins from its own addresses.
    const students = await Promise.all(Array.from({ length: 30 }, (_, i) => joinStudent(server.url, code, `Student ${i + 1}`, studentIp(i))));
    expect(students).toHaveLength(30);
    await flood;

    // At most the burst of 100 plus 10 per second for as long as the flood lasted got in.
    expect(outcomes.admitted ?? 0).toBeLessThanOrEqual(100 + Math.ceil(10 * floodSeconds) + 1);
    expect(outcomes.RATE_LIMITED ?? 0).toBe(1000 - (outcomes.admitted ?? 0));

    // The host sees the attempts and locks the room.
    const view = await ok<HostView>(request(host, 'host:sync', {}));
    expect(view.joinActivity!.attempts).toBeGreaterThanOrEqual(1000);
    expect(view.joinActivity!.throttled).toBe(outcomes.RATE_LIMITED);
    await ok(request(host, 'room:lock', {}));
    const late = connect(server.url, { role: 'student', code }, { 'x-forwarded-for': '192.0.2.9' });
    await connected(late);
    expect(await request(late, 'player:join', { nickname: 'Latecomer' })).toMatchObject({ ok: false, error: { code: 'LOCKED' } });

    // The real class plays: every answer acknowledged.
    const opened = students.map((s) => next(s.socket, 'question:opened'));
    await ok(request(host, 'game:start', {}));
    await Promise.all(opened);
    const acks = await Promise.all(students.map((s) => request(s.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } })));
    expect(acks.every((a) => a.ok)).toBe(true);
  });

  it('an address that probes wrong join codes is throttled, even for the right code', async () => {
    const { code } = await createSession(server, cookie, 'test-bank');
    const prober = { 'x-forwarded-for': '203.0.113.77' };
    const codes: string[] = [];
    for (let i = 0; i < 15; i++) {
      const s = connect(server.url, { role: 'student', code: String(100000 + i) }, prober);
      s.io.opts.reconnection = false;
      codes.push(await connected(s).then(() => 'connected', (err: { data?: { code: string } }) => err.data?.code ?? 'error'));
      s.disconnect();
    }
    expect(codes.slice(0, 10).every((c) => c === 'NOT_FOUND' || c === 'connected')).toBe(true);
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    const right = connect(server.url, { role: 'student', code }, prober);
    right.io.opts.reconnection = false;
    await expect(connected(right)).rejects.toMatchObject({ data: { code: 'RATE_LIMITED' } });
    // Another address is not affected.
    const other = connect(server.url, { role: 'student', code }, { 'x-forwarded-for': '198.51.100.200' });
    await connected(other);
  });

  it('a socket spamming 1,000 events a second is cut off; the rest of the room is unaffected', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'test-bank');
    const host = connect(server.url, { role: 'host', code, hostToken });
    await connected(host);
    const spammer = await joinStudent(server.url, code, 'Spammer', studentIp(100));
    const calm = await joinStudent(server.url, code, 'Calm', studentIp(101));
    spammer.socket.io.opts.reconnection = false;
    const opened = next(calm.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;

    const cutOff = new Promise<string>((resolve) => spammer.socket.on('disconnect', (reason) => resolve(reason)));
    for (let i = 0; i < 1000; i++) (spammer.socket as ClientSocket).emit('student:sync', {}, () => undefined);
    expect(await cutOff).toBe('io server disconnect');
    const ack = await request(calm.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } });
    expect(ack.ok).toBe(true);
  });
});

describe('host event limit (LIMIT_HOST_EVENT_BURST / LIMIT_HOST_EVENT_PER_SEC)', () => {
  let server: RunningServer;
  let cookie: string;

  beforeAll(async () => {
    // A burst of 5 and a refill too slow to matter during the test.
    server = await startServer({ banks: [testBank()], env: { LIMIT_HOST_EVENT_BURST: '5', LIMIT_HOST_EVENT_PER_SEC: '0.01' } });
    cookie = await login(server);
  });
  afterEach(() => closeAllClients());
  afterAll(() => server?.close());

  it('a host socket is rate limited by its configured bucket and cut off when it keeps flooding; another host tab is unaffected', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'test-bank');
    const flooder = connect(server.url, { role: 'host', code, hostToken });
    const other = connect(server.url, { role: 'host', code, hostToken });
    await Promise.all([connected(flooder), connected(other)]);
    flooder.io.opts.reconnection = false;

    const acks: Awaited<ReturnType<typeof request>>[] = [];
    for (let i = 0; i < 6; i++) acks.push(await request(flooder, 'host:sync', {}));
    expect(acks.slice(0, 5).map((a) => a.ok)).toEqual([true, true, true, true, true]);
    expect(acks[5]).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });

    // At its 100th refusal the socket is disconnected (as a flooding student's is).
    const cutOff = new Promise<string>((resolve) => flooder.on('disconnect', (reason) => resolve(reason)));
    for (let i = 0; i < 100; i++) (flooder.emit as (e: string, p: unknown, ack: () => void) => void)('host:sync', {}, () => undefined);
    expect(await cutOff).toBe('io server disconnect');
    expect(await request(other, 'host:sync', {})).toMatchObject({ ok: true });
  });
});
