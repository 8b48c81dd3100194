/**
 * The security review (docs/security.md), claim by claim, against real servers and real
 * socket.io-clients: the handshake's origin check, the authorisation matrix (read from the
 * document itself, so the document cannot drift from the code), token entropy and storage,
 * what reaches students and the display before reveal, HTTP headers and cookie flags, and
 * that no secret ends up in a URL or in the logs.
 */
import { ClientPayloads, DISPLAY_EVENTS, HOST_EVENTS, STUDENT_EVENTS, type Ack, type ClientEvent } from '@quizroom/shared';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, REDACTED_PATHS } from '../../server/src/logger.ts';
import { clientIp } from '../../server/src/security/client-ip.ts';
import { newToken } from '../../server/src/security/tokens.ts';
import type { RunningServer } from '../../server/src/server.ts';
import { MemoryStore } from '../../server/src/store/memory-store.ts';
import { redactUrl } from '../../server/src/store/redis-client.ts';
import type { RecordAnswerArgs } from '../../server/src/store/types.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { REPO_ROOT } from '../support/server-child.ts';
import { closeAllClients, connect, connected, createSession, joinStudent, login, next, ok, PASSWORD, request, startServer, testBank, type ClientSocket } from '../support/quizroom.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url

/** Sockets opened here with options the shared helper does not offer (polling, Origin, no retry). */
const ownSockets: Socket[] = [];
function rawSocket(url: string, auth: Record<string, unknown>, opts: { transports?: string[]; origin?: string } = {}): ClientSocket {
  const socket = ioClient(url, {
    auth,
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(opts.origin !== undefined ? { extraHeaders: { origin: opts.origin } } : {}),
  }) as ClientSocket;
  ownSockets.push(socket);
  return socket;
}
/** 'connected', or the error code the handshake was refused with. */
function handshake(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve((err as Error & { data?: { code?: string } }).data?.code ?? err.message));
  });
}
function closeOwnSockets() {
  for (const s of ownSockets.splice(0)) s.disconnect();
}

async function loginCookie(url: string, password = PASSWORD): Promise<{ status: number; setCookie: string | null }> {
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  await res.arrayBuffer();
  return { status: res.status, setCookie: res.headers.get('set-cookie') };
}

afterEach(() => {
  closeAllClients();
  closeOwnSockets();
});

// ------------------------------------------------------------------ the handshake

describe('security: the socket handshake', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ banks: [testBank()], env: { PUBLIC_URL: 'https://quiz.example.edu', ALLOWED_ORIGINS: 'https://lms.example.edu' } });
  });
  afterAll(() => server?.close());

  it('origin check: a page on another origin cannot open a socket; the own origin, PUBLIC_URL and ALLOWED_ORIGINS can, and so can a client that sends no Origin', async () => {
    const cookie = await login(server);
    const { code } = await createSession(server, cookie, 'test-bank');
    const attempt = (origin?: string) => handshake(rawSocket(server.url, { role: 'display', code }, origin === undefined ? {} : { origin }));
    expect(await attempt('https://evil.example')).not.toBe('connected');
    expect(await attempt('http://quiz.example.edu')).not.toBe('connected'); // the scheme counts
    expect(await attempt('null')).not.toBe('connected'); // sandboxed frames, file: pages
    expect(await attempt(new URL(server.url).origin)).toBe('connected');
    expect(await attempt('https://quiz.example.edu')).toBe('connected');
    expect(await attempt('https://lms.example.edu')).toBe('connected');
    expect(await attempt()).toBe('connected'); // not a browser: the credentials still decide
  });
});

// ------------------------------------------------------------------ authorisation

/** The matrix table of docs/security.md: event → the one role that may send it. */
function documentedMatrix(): Map<string, string> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/security.md'), 'utf8');
  const header = /^\| event \| host \| student \| display \|$/m.exec(doc);
  if (!header) throw new Error('docs/security.md has no "| event | host | student | display |" table');
  const roles = ['host', 'student', 'display'];
  const matrix = new Map<string, string>();
  for (const line of doc.slice(header.index).split('\n').slice(2)) {
    const m = /^\| `([a-z:]+)` \|(.*)\|$/.exec(line);
    if (!m) break;
    const cells = m[2]!.split('|').map((c) => c.trim());
    const allowed = roles.filter((_, i) => cells[i] === 'yes');
    if (allowed.length !== 1) throw new Error(`docs/security.md: ${m[1]} must be allowed for exactly one role`);
    matrix.set(m[1]!, allowed[0]!);
  }
  return matrix;
}

describe('security: authorisation', () => {
  let server: RunningServer;
  let cookie: string;
  beforeAll(async () => {
    // Every event from every role: the per-socket buckets must not be what refuses them.
    server = await startServer({ banks: [testBank()], env: { LIMIT_EVENT_BURST: '1000' } });
    cookie = await login(server);
  });
  afterAll(() => server?.close());

  it('the matrix in docs/security.md is the one the server enforces: each event is accepted from its one role, every other role gets FORBIDDEN', async () => {
    const documented = documentedMatrix();
    const code: Record<string, readonly string[]> = { host: HOST_EVENTS, student: STUDENT_EVENTS, display: DISPLAY_EVENTS };
    const fromCode = new Map(Object.entries(code).flatMap(([role, events]) => events.map((e) => [e, role] as const)));
    expect(new Map([...documented].sort())).toEqual(new Map([...fromCode].sort()));
    expect([...fromCode.keys()].sort()).toEqual(Object.keys(ClientPayloads).sort()); // every event has a role

    const { code: session, hostToken } = await createSession(server, cookie, 'test-bank');
    const host = connect(server.url, { role: 'host', code: session, hostToken });
    const display = connect(server.url, { role: 'display', code: session });
    await Promise.all([connected(host), connected(display)]);
    const ada = await joinStudent(server.url, session, 'Ada');
    const sockets: Record<string, ClientSocket> = { host, student: ada.socket, display };
    const refusedWrongly: string[] = [];
    for (const event of Object.keys(ClientPayloads) as ClientEvent[]) {
      for (const [role, socket] of Object.entries(sockets)) {
        // A read-only payload for the owner (no state change), the same for everyone else.
        const payload = event === 'player:join' ? { nickname: 'Ada' } : {};
        const ack: Ack<unknown> = await request(socket, event, payload);
        const forbidden = !ack.ok && ack.error.code === 'FORBIDDEN';
        if (forbidden !== (documented.get(event) !== role)) refusedWrongly.push(`${role} ${event}: ${JSON.stringify(ack).slice(0, 120)}`);
      }
    }
    expect(refusedWrongly).toEqual([]);
  });

  it('a student acts only as the player of its own token: no payload names a player, a guest cannot answer, a token opens only its own session', async () => {
    const a = await createSession(server, cookie, 'test-bank');
    const b = await createSession(server, cookie, 'test-bank');
    const host = connect(server.url, { role: 'host', code: a.code, hostToken: a.hostToken });
    await connected(host);
    const ada = await joinStudent(server.url, a.code, 'Ada');
    const bob = await joinStudent(server.url, a.code, 'Bob');
    const guest = connect(server.url, { role: 'student', code: a.code });
    await connected(guest);
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;

    const asBob = await request(ada.socket, 'answer:submit', { questionId: 'q-single', playerId: bob.playerId, answer: { type: 'single', choice: 0 } });
    expect(asBob).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await request(guest, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } })).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    await ok(request(bob.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } })); // Bob's answer is still his to give
    // Ada's token is no key to session B, and a host token of A is no key to B's console.
    expect(await handshake(rawSocket(server.url, { role: 'student', code: b.code, token: ada.token }))).toBe('UNAUTHORIZED');
    expect(await handshake(rawSocket(server.url, { role: 'host', code: b.code, hostToken: a.hostToken }))).toBe('UNAUTHORIZED');
  });

  it('host and player tokens are 256-bit random base64url strings, never repeated', async () => {
    const many = Array.from({ length: 2000 }, () => newToken());
    expect(new Set(many).size).toBe(many.length);
    for (const t of many) expect(t).toMatch(TOKEN_RE);
    const { code, hostToken } = await createSession(server, cookie, 'test-bank');
    const ada = await joinStudent(server.url, code, 'Ada');
    expect(hostToken).toMatch(TOKEN_RE);
    expect(ada.token).toMatch(TOKEN_RE);
  });

  it('students and the display get no solution, correct flag, explanation or rubric before reveal; the solution comes with reveal', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'test-bank');
    const host = connect(server.url, { role: 'host', code, hostToken });
    const display = connect(server.url, { role: 'display', code });
    await Promise.all([connected(host), connected(display)]);
    const ada = await joinStudent(server.url, code, 'Ada');
    const bob = await joinStudent(server.url, code, 'Bob');
    const wire: string[] = [];
    for (const s of [ada.socket, bob.socket, display]) s.onAny((event, payload) => wire.push(`${event} ${JSON.stringify(payload)}`));
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    // Ada answers right, Bob wrong: even her own result must not say "right" before reveal.
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));
    await ok(request(bob.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } }));
    const closedViews = [next(ada.socket, 'student:view', (v) => v.phase === 'closed'), next(display, 'display:view', (v) => v.phase === 'closed')];
    await ok(request(host, 'question:close', {}));
    await Promise.all(closedViews);
    await ok(request(ada.socket, 'student:sync', {}));
    await ok(request(display, 'display:sync', {}));
    const leaks = /"correct"\s*:\s*(true|\[)|"solution"\s*:\s*\{|"explanation"\s*:\s*"|Containers share the host kernel|"rubric"|Names it/;
    expect(wire.join('\n')).not.toMatch(leaks);

    const revealed = [next(ada.socket, 'student:view', (v) => v.phase === 'reveal'), next(display, 'display:view', (v) => v.phase === 'reveal')];
    await ok(request(host, 'question:reveal', {}));
    const [adaView] = await Promise.all(revealed);
    expect((adaView as { reveal: { solution: unknown } }).reveal.solution).toEqual({ type: 'single', correct: [1] });
    expect(wire.join('\n')).toMatch(/Containers share the host kernel/); // the check above could see a leak
    expect(wire.join('\n')).not.toMatch(/"rubric"|Names it/); // rubrics never
  });
});

describe('security: tokens at rest (Redis)', () => {
  let redis: RunningRedis;
  let server: RunningServer;
  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServer({ redisUrl: redis.url, banks: [testBank()] });
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('the store keeps only SHA-256 hashes of host and player tokens (every Redis key and value scanned)', async () => {
    const cookie = await login(server);
    const { code, hostToken } = await createSession(server, cookie, 'test-bank');
    const host = connect(server.url, { role: 'host', code, hostToken });
    await connected(host);
    const ada = await joinStudent(server.url, code, 'Ada');
    ada.socket.disconnect();
    const back = connect(server.url, { role: 'student', code, token: ada.token });
    await connected(back);

    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const dump: string[] = [];
      for await (const batch of client.scanIterator({ COUNT: 1000 })) {
        for (const key of batch) {
          dump.push(key);
          const type = await client.type(key);
          if (type === 'string') dump.push((await client.get(key)) ?? '');
          else if (type === 'hash') dump.push(JSON.stringify(await client.hGetAll(key)));
          else if (type === 'zset') dump.push(JSON.stringify(await client.zRange(key, 0, -1)));
          else throw new Error(`unexpected key type ${type} of ${key}`);
        }
      }
      const all = dump.join('\n');
      expect(all).toContain(sha256(hostToken)); // the scan did reach the credentials…
      expect(all).toContain(sha256(ada.token));
      expect(all).not.toContain(hostToken); // …and found no token itself
      expect(all).not.toContain(ada.token);
    } finally {
      await client.close();
    }
  });
});

// ------------------------------------------------------------------ HTTP

describe('security: HTTP headers and the instructor cookie', () => {
  let server: RunningServer;
  let secure: RunningServer;
  let now = 1_763_000_000_000;
  beforeAll(async () => {
    server = await startServer({ banks: [testBank()], clock: () => now });
    secure = await startServer({ banks: [testBank()], env: { COOKIE_SECURE: 'true' } });
  });
  afterAll(async () => {
    await server?.close();
    await secure?.close();
  });

  it('helmet headers on page, API, error and health responses: CSP (script-src self, object-src none, frame-ancestors none), nosniff, no-referrer; HSTS only with COOKIE_SECURE', async () => {
    for (const p of ['/', '/api/me', '/api/nope', '/healthz']) {
      const res = await fetch(`${server.url}${p}`);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'"]) expect(csp, `${p}: ${directive}`).toContain(directive);
      expect(res.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), p).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), p).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by'), p).toBeNull();
      expect(res.headers.get('strict-transport-security'), p).toBeNull();
    }
    const res = await fetch(`${secure.url}/api/me`);
    await res.arrayBuffer();
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('the instructor cookie is HttpOnly, SameSite=Strict, Path=/, 12 h, Secure only with COOKIE_SECURE; a forged or expired cookie is refused', async () => {
    const plain = (await loginCookie(server.url)).setCookie!;
    expect(plain).toMatch(/HttpOnly/i);
    expect(plain).toMatch(/SameSite=Strict/i);
    expect(plain).toMatch(/Path=\//);
    expect(plain).toMatch(/Max-Age=43200/);
    expect(plain).not.toMatch(/Secure/i);
    expect((await loginCookie(secure.url)).setCookie).toMatch(/;\s*Secure/i);

    const cookie = plain.split(';')[0]!;
    const banks = (c: string) => fetch(`${server.url}/api/banks`, { headers: { cookie: c } }).then(async (r) => (await r.arrayBuffer(), r.status));
    expect(await banks(cookie)).toBe(200);
    const [name, value] = cookie.split('=') as [string, string];
    const [expires, mac] = value.split('.') as [string, string];
    expect(await banks(`${name}=${expires}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).toBe(401); // forged MAC
    expect(await banks(`${name}=${Number(expires) + 86_400_000}.${mac}`)).toBe(401); // a longer life is not signed
    now += 12 * 3600 * 1000;
    expect(await banks(cookie)).toBe(401); // expired
  });
});

describe('security: client addresses and rendering', () => {
  it('per-IP limits use the address the trusted proxy saw: a client-supplied X-Forwarded-For cannot choose its own identity', () => {
    // No proxy trusted: the header is ignored.
    expect(clientIp('203.0.113.9', '198.51.100.1', 0)).toBe('203.0.113.9');
    // One proxy (nginx appends the address it saw): the last entry, whatever the client put before it.
    expect(clientIp('10.0.0.2', '198.51.100.1, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(clientIp('10.0.0.2', ['1.1.1.1, 2.2.2.2', '203.0.113.9'], 1)).toBe('203.0.113.9');
    // Two proxies: the second entry from the right.
    expect(clientIp('10.0.0.3', 'spoofed, 203.0.113.9, 10.0.0.2', 2)).toBe('203.0.113.9');
    // No header behind a trusted proxy: the socket's address.
    expect(clientIp('10.0.0.2', undefined, 1)).toBe('10.0.0.2');
  });

  it('the client renders nicknames, answers and bank text as text: no {@html}, innerHTML or outerHTML in client/src', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(svelte|ts|js)$/.test(e.name)) files.push(p);
      }
    };
    walk(path.join(REPO_ROOT, 'client/src'));
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.filter((f) => /\{@html\b|\.(inner|outer)HTML\s*=|insertAdjacentHTML/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

// ------------------------------------------------------------------ no secrets in URLs or logs

/** A store whose next playerByToken / recordAnswer fails once: the server's error paths log. */
class FailingOnceStore extends MemoryStore {
  readonly failNext = new Set<'playerByToken' | 'recordAnswer'>();
  override async playerByToken(tokenHash: string) {
    if (this.failNext.delete('playerByToken')) throw new Error('injected store failure');
    return super.playerByToken(tokenHash);
  }
  override async recordAnswer(code: string, args: RecordAnswerArgs) {
    if (this.failNext.delete('recordAnswer')) throw new Error('injected store failure');
    return super.recordAnswer(code, args);
  }
}

/**
 * A whole session with every credential in play: a wrong and a right password, the cookie,
 * the host token (right and wrong), player tokens over WebSocket and over HTTP long-polling,
 * a resume with a token, a kick and the kicked token, exports by cookie and by Bearer token.
 * Returns the secrets it used and the links the server handed out.
 */
async function wholeSession(server: RunningServer, store?: FailingOnceStore) {
  expect((await loginCookie(server.url, 'not the password')).status).toBe(401);
  const setCookie = (await loginCookie(server.url)).setCookie!;
  const cookie = setCookie.split(';')[0]!;
  const created = await createSession(server, cookie, 'test-bank');
  const { code, hostToken } = created;
  const host = connect(server.url, { role: 'host', code, hostToken });
  const display = connect(server.url, { role: 'display', code });
  await Promise.all([connected(host), connected(display)]);
  expect(await handshake(rawSocket(server.url, { role: 'host', code, hostToken: newToken() }))).toBe('UNAUTHORIZED');

  const ada = await joinStudent(server.url, code, 'Ada');
  const bob = rawSocket(server.url, { role: 'student', code }, { transports: ['polling'] });
  expect(await handshake(bob)).toBe('connected');
  const bobJoined = await ok<{ playerId: string; token: string }>(request(bob, 'player:join', { nickname: 'Bob' }));
  bob.disconnect();
  const bobBack = rawSocket(server.url, { role: 'student', code, token: bobJoined.token }, { transports: ['polling'] });
  expect(await handshake(bobBack)).toBe('connected');

  // Ada resumes with her token; inside the store that fails once (the client tries again).
  store?.failNext.add('playerByToken');
  ada.socket.disconnect();
  let resumed = handshake(ada.socket);
  ada.socket.connect();
  if ((await resumed) !== 'connected') {
    expect(store).toBeDefined();
    resumed = handshake(ada.socket);
    ada.socket.connect();
    expect(await resumed).toBe('connected');
  }

  const opened = next(ada.socket, 'question:opened');
  await ok(request(host, 'game:start', {}));
  await opened;
  store?.failNext.add('recordAnswer');
  const first = await request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } });
  if (store) expect(first).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  if (!first.ok) await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));
  await ok(request(bobBack, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 0 } }));
  await ok(request(host, 'question:close', {}));
  await ok(request(host, 'question:reveal', {}));

  await ok(request(host, 'player:kick', { playerId: bobJoined.playerId }));
  expect(await handshake(rawSocket(server.url, { role: 'student', code, token: bobJoined.token }))).toBe('UNAUTHORIZED');
  for (const headers of [{ cookie }, { authorization: `Bearer ${hostToken}` }] as Record<string, string>[]) {
    const res = await fetch(`${server.url}/api/sessions/${code}/results.json`, { headers });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  await ok(request(host, 'game:end', {}));
  return {
    secrets: { password: PASSWORD, cookie: cookie.slice(cookie.indexOf('=') + 1), hostToken, adaToken: ada.token, bobToken: bobJoined.token },
    links: [created.joinUrl, created.displayUrl, (created as { hostUrl?: string }).hostUrl ?? ''],
    code,
  };
}

function expectNoSecret(text: string, secrets: Record<string, string>) {
  for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `${name} found`).toBe(false);
}

describe('security: no secrets in URLs or logs', () => {
  it('no URL of a whole session carries a token, the password or the cookie: page links, HTTP requests, Socket.IO polling and WebSocket handshakes', async () => {
    const server = await startServer({ banks: [testBank()] });
    try {
      const urls: string[] = [];
      server.httpServer.on('request', (req) => urls.push(req.url ?? ''));
      server.httpServer.on('upgrade', (req) => urls.push(req.url ?? ''));
      const { secrets, links, code } = await wholeSession(server);
      expect(links).toEqual([`${server.url}/join/${code}`, `${server.url}/display/${code}`, `${server.url}/host/${code}`]);
      expect(urls.some((u) => u.includes('transport=polling'))).toBe(true);
      expect(urls.some((u) => u.includes('transport=websocket'))).toBe(true);
      expectNoSecret([...links, ...urls].join('\n'), secrets);
    } finally {
      await server.close();
    }
  });

  it('a whole session logged at trace level, failures included, writes no password, token or cookie', async () => {
    const lines: string[] = [];
    const store = new FailingOnceStore();
    const server = await startServer({ banks: [testBank()], store, logger: createLogger('trace', { write: (line: string) => void lines.push(line) }) });
    try {
      const { secrets } = await wholeSession(server, store);
      const log = lines.join('');
      expect(log).toContain('session created');
      expect(log).toContain('handshake failed'); // the error paths ran and logged
      expect(log).toContain('handler failed');
      expectNoSecret(log, secrets);
    } finally {
      await server.close();
    }
  });

  it('the logger redacts secret fields down to three levels; a Redis URL loses its password in messages', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const secret = 'S3CRET-VALUE';
    logger.info(
      {
        token: secret,
        hostToken: secret,
        password: secret,
        auth: { token: secret, hostToken: secret },
        socket: { handshake: { token: secret, authorization: secret } },
        req: { headers: { cookie: secret, authorization: `Bearer ${secret}` } },
      },
      'secrets everywhere',
    );
    expect(lines.join('')).toContain('secrets everywhere');
    expect(lines.join('')).not.toContain(secret);
    expect(REDACTED_PATHS).toEqual(expect.arrayContaining(['token', 'hostToken', 'password', '*.token', '*.*.token']));
    expect(redactUrl(`redis://quizroom:${secret}@redis.internal:6379/0`)).not.toContain(secret);
  });
});
