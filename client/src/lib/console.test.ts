import { expect, test } from 'vitest';
import { ConsoleState } from './console.svelte.ts';
import { memoryStorage } from './storage.ts';

type Handler = (body: unknown) => { status: number; body: unknown };

function fakeFetch(routes: Record<string, Handler>) {
  const calls: { path: string; method: string; body: unknown }[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = String(input);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ path, method, body });
    const handler = routes[`${method} ${path}`];
    const r = handler ? handler(body) : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'nope' } } };
    return new Response(JSON.stringify(r.body), { status: r.status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const banks = [{ id: 'vm', title: 'Machines & containers', description: 'Lesson 1', language: 'en', questionCount: 24, types: { single: 10, open: 2 } }];

test('login, list banks, create a session and keep its host token', async () => {
  let loggedIn = false;
  const { fetch, calls } = fakeFetch({
    'GET /api/me': () => ({ status: 200, body: { instructor: loggedIn } }),
    'POST /api/login': (b) => {
      if ((b as { password: string }).password !== 'secret') return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Wrong password.' } } };
      loggedIn = true;
      return { status: 200, body: { ok: true } };
    },
    'GET /api/banks': () => ({ status: 200, body: { banks } }),
    'POST /api/sessions': () => ({ status: 200, body: { code: '654321', hostToken: 'h'.repeat(24), joinUrl: 'http://x/join/654321', displayUrl: 'http://x/display/654321' } }),
  });
  const storage = memoryStorage();
  const c = new ConsoleState({ fetch, storage });
  await c.init();
  expect(c.instructor).toBe(false);
  expect(await c.login('nope')).toBe(false);
  expect(c.loginError).toBe('Wrong password.');
  expect(await c.login('secret')).toBe(true);
  expect(c.banks).toEqual(banks);
  expect(c.selectedBankId).toBe('vm');
  expect(c.canCreate).toBe(true);
  c.options.scoring = 'accuracy';
  const created = await c.create();
  expect(created?.code).toBe('654321');
  expect(calls.at(-1)?.body).toEqual({
    bankId: 'vm',
    options: { scoring: 'accuracy', streak: true, timeMultiplier: 1, allowLateJoin: true, nicknamePolicy: 'free', profanityFilter: true, gradedPointsLive: true },
  });
  expect(JSON.parse(storage.getItem('quizroom:host:654321')!)).toMatchObject({ hostToken: 'h'.repeat(24), joinUrl: 'http://x/join/654321' });
  expect(c.savedSessions().map((s) => s.code)).toEqual(['654321']);
});

test('an invalid upload lists every error with its line', async () => {
  const { fetch } = fakeFetch({
    'POST /api/banks/validate': () => ({
      status: 422,
      body: {
        error: { code: 'BAD_REQUEST', message: 'The bank has 2 errors.' },
        errors: [
          { line: 3, column: 5, path: 'questions[0].choices', message: 'needs at least two choices' },
          { line: 9, column: 1, path: 'questions[1].id', message: 'duplicate question id "q1"' },
        ],
      },
    }),
  });
  const c = new ConsoleState({ fetch, storage: memoryStorage() });
  expect(await c.validateUpload('bank.yaml', 'id: x')).toBe(false);
  expect(c.uploadError).toBe('The bank has 2 errors.');
  expect(c.uploadIssues.map((i) => i.line)).toEqual([3, 9]);
  expect(c.canCreate).toBe(false);
});

test('a valid upload can be used to create a session', async () => {
  const { fetch, calls } = fakeFetch({
    'POST /api/banks/validate': () => ({ status: 200, body: { bank: { id: 'mine', title: 'Mine', questionCount: 3, types: { single: 3 } } } }),
    'POST /api/sessions': () => ({ status: 200, body: { code: '111111', hostToken: 'x'.repeat(24), joinUrl: 'j', displayUrl: 'd' } }),
  });
  const c = new ConsoleState({ fetch, storage: memoryStorage() });
  expect(await c.validateUpload('mine.gift', '::Q1:: 1+1 {=2 ~3}')).toBe(true);
  expect(c.canCreate).toBe(true);
  await c.create();
  expect(calls.at(-1)?.body).toMatchObject({ upload: { filename: 'mine.gift', content: '::Q1:: 1+1 {=2 ~3}' } });
});
