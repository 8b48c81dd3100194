/** The HTTP surface of a real server: zod-parsed bodies, JSON errors, auth, headers, export. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.ts';
import type { RunningServer } from '../../server/src/server.ts';
import { createSession, login, PASSWORD, startServer } from '../support/quizroom.ts';

describe('HTTP API', () => {
  let server: RunningServer;
  let cookie: string;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    server = await startServer({ loginLimit: { capacity: 4, refillPerSec: 0.001 } });
    cookie = await login(server);
  });
  afterAll(() => server?.close());

  it('GET /healthz reports the store kind and that it is reachable', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, store: 'memory', redis: 'not used' });
  });

  it('sets security headers (CSP with frame-ancestors, nosniff) on every response', async () => {
    const res = await fetch(`${server.url}/api/me`);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('login: the cookie is httpOnly and SameSite=Strict; a wrong password is 401; brute force is throttled (429)', async () => {
    const res = await post('/api/login', { password: PASSWORD });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post('/api/login', { password: 'wrong password' })).status);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const body = (await (await post('/api/login', { password: 'wrong password' })).json()) as { error: { code: string } };
    expect(body.error.code).toBe('RATE_LIMITED');
  });

  it('bad bodies get a 400 JSON error naming the field; unknown endpoints a 404 JSON error', async () => {
    const malformed = await post('/api/sessions', '{"bankId":', { cookie });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const badOption = await post('/api/sessions', { bankId: 'vm-containers-warmup', options: { scoring: 'fastest' } }, { cookie });
    expect(badOption.status).toBe(400);
    expect(((await badOption.json()) as { error: { message: string } }).error.message).toMatch(/options\.scoring/);
    const missing = await fetch(`${server.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such endpoint' } });
  });

  it('banks and sessions need the instructor; the bundled banks are listed', async () => {
    expect((await fetch(`${server.url}/api/banks`)).status).toBe(401);
    expect((await post('/api/sessions', { bankId: 'vm-containers-warmup' })).status).toBe(401);
    const banks = (await (await fetch(`${server.url}/api/banks`, { headers: { cookie } })).json()) as { banks: { id: string; questionCount: number }[] };
    expect(banks.banks.map((b) => b.id).sort()).toEqual(['vm-containers-review', 'vm-containers-scenarios', 'vm-containers-warmup']);
    const created = await createSession(server, cookie, 'vm-containers-warmup', { scoring: 'accuracy' });
    expect(created.code).toMatch(/^\d{6}$/);
    expect(created.joinUrl).toBe(`${server.url}/join/${created.code}`);
    expect(created.hostToken.length).toBeGreaterThanOrEqual(43);
  });

  it('an uploaded bank is validated with located errors (YAML and GIFT)', async () => {
    const yaml = ['id: up', 'title: Upload', 'description: d', 'language: en', 'questions:', '  - id: q1', '    type: single', '    prompt: P', '    explanation: E', '    source: { file: f, section: s }', '    choices:', '      - { text: a, correct: true }', '      - { text: b, correct: true }', ''].join('\n');
    const bad = await post('/api/banks/validate', { filename: 'up.yaml', content: yaml }, { cookie });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { errors: { line: number; path: string; message: string }[] };
    expect(body.errors[0]).toMatchObject({ line: 11, path: 'questions[0].choices' });
    expect(body.errors[0]!.message).toMatch(/exactly one correct choice/);
    const gift = await post('/api/banks/validate', { filename: 'quiz.gift', content: '::Q1:: Docker shares the host kernel. {T}\n' }, { cookie });
    expect(gift.status).toBe(200);
    expect(((await gift.json()) as { bank: { questionCount: number } }).bank.questionCount).toBe(1);
  });

  it('results export needs the instructor cookie or the host token as a Bearer header', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'vm-containers-warmup');
    expect((await fetch(`${server.url}/api/sessions/${code}/results.csv`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/sessions/${code}/results.csv`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const csv = await fetch(`${server.url}/api/sessions/${code}/results.csv`, { headers: { authorization: `Bearer ${hostToken}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^\ufeff?nickname,rank,total/);
    expect((await fetch(`${server.url}/api/sessions/000000/results.json`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${server.url}/api/sessions/abc/results.json`, { headers: { cookie } })).status).toBe(400);
  });
});

describe('configuration', () => {
  it('rejects bad values with messages an operator can act on', () => {
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL must be a URL/);
    expect(() => loadConfig({ QUIZROOM_HOST_PASSWORD: 'short' })).toThrow(/at least 8 characters/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(loadConfig({}).PORT).toBe(3000);
  });
});
