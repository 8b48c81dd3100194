/**
 * Issue 7, part 1 (HTTP): a seeded property-based fuzz of every HTTP endpoint of a real server
 * with random bodies (arbitrary JSON, near-valid bodies with one field changed, text, raw
 * bytes, `__proto__` keys, deep nesting), content types, cookies, Authorization headers,
 * methods, paths and query strings.
 *
 * Properties, for every request: an answer within 2 s; never a 5xx (the store is up, so not
 * even 503); every error is JSON `{ error: { code, message } }` with a code from ERROR_CODES;
 * and the number of live sessions grows only with a 201 from POST /api/sessions. After each
 * property the server is healthy and logged no error.
 */
import { ERROR_CODES } from '@quizroom/shared';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, createSession } from '../support/quizroom.ts';
import { deepArb, defineOwn, takeErrorLogs, healthz, hugeString, junkArb, keyArb, leafArb, specialNumber, startFuzzServer, type FuzzServer } from './fuzz-helpers.ts';

const TIMEOUT_MS = 2000;
const RUNS = 300;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

let fz: FuzzServer;
let session: { code: string; hostToken: string };

beforeAll(async () => {
  fz = await startFuzzServer();
  session = await createSession(fz.server, fz.cookie, 'fuzz-bank');
});
afterAll(() => fz?.server.close());

async function send(req: Sent): Promise<Answer> {
  const init: RequestInit = { method: req.method, headers: req.headers, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) };
  if (req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD') init.body = req.body;
  const res = await fetch(`${fz.server.url}${req.path}`, init);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** The typed error body: `{ error: { code, message } }` (422 adds a located `errors` list). */
function errorBodyProblem(a: Answer): string | null {
  if (!/^application\/json/.test(a.contentType)) return `content-type ${a.contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return 'not JSON';
  }
  const b = body as { error?: Record<string, unknown>; errors?: unknown };
  const e = b?.error;
  if (!e || typeof e !== 'object' || Object.keys(e).sort().join() !== 'code,message') return 'no { error: { code, message } }';
  if (!(ERROR_CODES as readonly unknown[]).includes(e.code)) return `code ${String(e.code)} is not in ERROR_CODES`;
  if (typeof e.message !== 'string' || e.message.length === 0) return 'empty message';
  const extra = Object.keys(b).filter((k) => k !== 'error' && k !== 'errors');
  if (extra.length > 0) return `unexpected keys ${extra.join()}`;
  return null;
}

/** Sends `req` and checks the properties every answer must have. */
async function checked(req: Sent): Promise<Answer> {
  const before = (await fz.server.service.store.liveCodes()).length;
  const a = await send(req);
  const where = `${req.method} ${req.path.slice(0, 200)} → ${a.status} ${a.text.slice(0, 200)}`;
  expect(a.status, where).toBeLessThan(500);
  // /socket.io/ belongs to Engine.IO, whose errors have the protocol's own shape ({ code: 0, message }).
  const engineIo = /^\/socket\.io(\/|\?|$)/.test(req.path);
  if (a.status >= 400 && req.method !== 'HEAD' && !engineIo) expect(errorBodyProblem(a), where).toBeNull();
  const after = (await fz.server.service.store.liveCodes()).length;
  expect(after - before, `sessions created by ${where}`).toBe(a.status === 201 && req.path.startsWith('/api/sessions') ? 1 : 0);
  return a;
}

async function expectHealthy() {
  expect(await healthz(fz.server.url)).toBe(200);
  expect(takeErrorLogs(fz)).toEqual([]);
}

// ------------------------------------------------------------------ arbitraries

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const latin1 = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: max });

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16le',
      'application/json; charset=latin1',
      'application/json; charset=nope',
      'application/vnd.api+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/yaml',
      '*/*',
      'json',
      '',
    ),
    printable(60),
  ),
  { nil: undefined },
);

const cookie = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(fz.cookie),
    fc.constant(undefined),
    fc.constantFrom('qr_instructor=%E0%A4%A', 'qr_instructor=%', 'a=%zz; qr_instructor=1.2', '%=%', '=x', ';;;', 'qr_instructor=1.2.3', 'qr_instructor=99999999999999999999.abc', '__proto__=x', 'constructor=1; toString=2', `${fz.cookie}; ${fz.cookie}`),
    printable(80).map((s) => `qr_instructor=${s}`),
    printable(120),
  );

const authorization = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(`Bearer ${session.hostToken}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'bearer x', 'Bearer \u00ff\u00fe'),
    printable(80).map((s) => `Bearer ${s}`),
    latin1(60),
  );

const headers = (): fc.Arbitrary<Record<string, string>> =>
  fc.record({ 'content-type': contentType, cookie: cookie(), authorization: authorization(), accept: fc.option(printable(40), { nil: undefined }), 'x-forwarded-for': fc.option(printable(40), { nil: undefined }) }).map((h) =>
    Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined)),
  );

/** A valid body with one thing changed (wrong type, out of range, missing, extra or special key). */
function nearValid(template: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(template);
  const value = fc.oneof(leafArb, specialNumber, junkArb, hugeString(20_000), deepArb(leafArb));
  const options: fc.Arbitrary<unknown>[] = [fc.tuple(keyArb, value).map(([k, v]) => defineOwn({ ...template }, k, v)), fc.constant(defineOwn({}, '__proto__', template))];
  if (keys.length > 0)
    options.push(
      fc.tuple(fc.constantFrom(...keys), value).map(([k, v]) => defineOwn({ ...template }, k, v)),
      fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(template).filter(([key]) => key !== k))),
    );
  return fc.oneof(...options);
}

const body = (templates: Record<string, unknown>[]): fc.Arbitrary<string | Uint8Array | undefined> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...templates).chain(nearValid).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: junkArb.map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 1, arbitrary: deepArb(fc.constantFrom<unknown>(...templates)).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', '{', '{"a":', '[]', 'null', '"str"', '1e999', '{"password":"x"}garbage', '\ufeff{}', '{"__proto__":{"password":"x"}}') },
  );

const uploadTemplate = { filename: 'bank.yaml', content: 'id: x\ntitle: t\n' };

interface Endpoint {
  name: string;
  methods: string[];
  path: () => fc.Arbitrary<string>;
  bodies: Record<string, unknown>[];
}

const code = () => fc.oneof(fc.constant(session.code), fc.stringMatching(/^\d{6}$/), fc.constantFrom('000000', '12345', '1234567', '%00', '..', '..%2f..', '%2e%2e', 'abcdef', '__proto__', '123456%', '%E0%A4%A', '１２３４５６'), printable(20).map(encodeURIComponent));
const query = fc.oneof(fc.constant(''), fc.constantFrom('?__proto__[x]=1', '?constructor=1', '?a=%', '?format=json&format=csv', '?x=' + 'y'.repeat(4000)), printable(60).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`));

const ENDPOINTS: Endpoint[] = [
  { name: 'POST /api/login', methods: ['POST'], path: () => fc.constant('/api/login'), bodies: [{ password: PASSWORD }, { password: 'wrong password' }] },
  { name: 'POST /api/logout', methods: ['POST'], path: () => fc.constant('/api/logout'), bodies: [{}] },
  { name: 'GET /api/me', methods: ['GET'], path: () => fc.constant('/api/me'), bodies: [{}] },
  { name: 'GET /api/banks', methods: ['GET'], path: () => fc.constant('/api/banks'), bodies: [{}] },
  { name: 'POST /api/banks/validate', methods: ['POST'], path: () => fc.constant('/api/banks/validate'), bodies: [uploadTemplate] },
  { name: 'POST /api/sessions', methods: ['POST'], path: () => fc.constant('/api/sessions'), bodies: [{ bankId: 'fuzz-bank', options: { scoring: 'accuracy' } }, { upload: uploadTemplate, options: {} }, { bankId: 'nope' }] },
  { name: 'GET /api/sessions/:code/results.csv|json', methods: ['GET'], path: () => fc.tuple(code(), fc.oneof(fc.constantFrom('csv', 'json', 'xml', '', 'csv.json', 'CSV', 'json%00'), printable(10)), query).map(([c, f, q]) => `/api/sessions/${c}/results.${f}${q}`), bodies: [{}] },
  { name: 'GET /healthz', methods: ['GET'], path: () => fc.constant('/healthz'), bodies: [{}] },
  {
    name: 'unknown paths',
    methods: ['GET', 'POST'],
    path: () => fc.oneof(fc.constantFrom('/api', '/api/', '/api/nope', '/api/sessions', '/api/sessions/123456', '/nope', '/join/123456', '/host', '/display/000000', '/%', '/%E0%A4%A', '//api//login', '/api/login/..', '/.env', '/socket.io/?EIO=3'), fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`))),
    bodies: [{}],
  },
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

describe('HTTP fuzz', () => {
  it.each(ENDPOINTS.map((e) => [e.name, e] as const))('%s: random bodies, headers and params: no 5xx, typed JSON errors, no session from a refused call (seed 42)', async (_name, endpoint) => {
    const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...endpoint.methods) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) });
    await fc.assert(
      fc.asyncProperty(method, endpoint.path(), headers(), body(endpoint.bodies), async (m, path, h, b) => {
        await checked({ method: m, path, headers: h, ...(b !== undefined ? { body: b } : {}) });
      }),
      { seed: 42, numRuns: RUNS, endOnFailure: true },
    );
    await expectHealthy();
  });

  it('bodies over the 1200 kb limit are refused with 413 and a JSON error on every POST endpoint, logged in or not', async () => {
    const big = JSON.stringify({ filename: 'big.yaml', content: 'x'.repeat(1_300_000) });
    for (const path of ['/api/login', '/api/logout', '/api/banks/validate', '/api/sessions', '/api/nope']) {
      for (const c of [fz.cookie, undefined]) {
        const a = await checked({ method: 'POST', path, headers: { 'content-type': 'application/json', ...(c ? { cookie: c } : {}) }, body: big });
        expect(a.status, path).toBe(413);
        expect(JSON.parse(a.text)).toEqual({ error: { code: 'BAD_REQUEST', message: 'request body too large' } });
      }
    }
    // Not JSON: express.json does not read it, the route refuses the missing body.
    const text = await checked({ method: 'POST', path: '/api/sessions', headers: { 'content-type': 'text/plain', cookie: fz.cookie }, body: 'x'.repeat(1_300_000) });
    expect(text.status).toBe(400);
    await expectHealthy();
  });

  it('compressed bodies: a decompression bomb is cut at the limit (413); broken and unknown encodings are 4xx', async () => {
    const bomb = JSON.stringify({ filename: 'b.yaml', content: '0'.repeat(20_000_000) });
    const encoders: [string, (b: Buffer) => Buffer][] = [
      ['gzip', (b) => gzipSync(b)],
      ['deflate', (b) => deflateSync(b)],
      ['br', (b) => brotliCompressSync(b)],
    ];
    for (const [encoding, encode] of encoders) {
      const compressed = encode(Buffer.from(bomb));
      expect(compressed.length).toBeLessThan(100_000);
      const a = await checked({ method: 'POST', path: '/api/banks/validate', headers: { 'content-type': 'application/json', 'content-encoding': encoding, cookie: fz.cookie }, body: new Uint8Array(compressed) });
      expect(a.status, encoding).toBe(413);
      const broken = await checked({ method: 'POST', path: '/api/banks/validate', headers: { 'content-type': 'application/json', 'content-encoding': encoding, cookie: fz.cookie }, body: new Uint8Array(compressed.subarray(0, 20)) });
      expect(broken.status, `${encoding} cut short`).toBeGreaterThanOrEqual(400);
      const small = await checked({ method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: new Uint8Array(encode(Buffer.from(JSON.stringify({ password: 'nope nope' })))) });
      expect(small.status, `${encoding} small body is read`).toBe(401);
    }
    for (const encoding of ['compress', 'x-unknown', 'gzip, gzip', 'identity, br']) {
      const a = await checked({ method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: '{"password":"x"}' });
      expect(a.status, encoding).toBeGreaterThanOrEqual(400);
    }
    await expectHealthy();
  });

  it('charsets and bytes that are not UTF-8 get 4xx JSON errors', async () => {
    const bodies: [string, Uint8Array][] = [
      ['application/json', new Uint8Array([0x7b, 0x22, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])], // {"password":"\xff\xfe\xc3("}
      ['application/json', new Uint8Array([0xc0, 0xaf, 0xed, 0xa0, 0x80])], // overlong "/", encoded surrogate
      ['application/json', new Uint8Array([0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d])], // UTF-16 BOM
      ['application/json; charset=utf-16le', new Uint8Array(Buffer.from('{"password":"x"}', 'utf16le'))],
      ['application/json; charset=utf-32', new Uint8Array([0, 0, 0, 0x7b])],
      ['application/json; charset=iso-8859-1', new Uint8Array(Buffer.from('{"password":"\u00e9"}', 'latin1'))],
      ['application/json', new Uint8Array(Buffer.from('{"password":"\\ud800\\udfff\\ud800"}'))],
    ];
    for (const [type, bytes] of bodies) {
      for (const path of ['/api/login', '/api/banks/validate', '/api/sessions']) {
        const a = await checked({ method: 'POST', path, headers: { 'content-type': type, cookie: fz.cookie }, body: bytes });
        expect(a.status, `${type} ${path}`).toBeGreaterThanOrEqual(400);
      }
    }
    await expectHealthy();
  });

  it('requests the HTTP parser refuses (huge headers, a bad request line) are closed with a 4xx, never a 5xx', async () => {
    const raw = (path: string, hdrs: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(fz.server.url);
        const req = httpRequest({ host: u.hostname, port: u.port, path, headers: hdrs, timeout: TIMEOUT_MS }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
    expect(await raw('/api/me', { cookie: `qr_instructor=${'x'.repeat(20_000)}` })).toBe(431);
    expect(await raw('/api/me', Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`x-h${i}`, 'v'])))).toBeLessThan(500);
    expect(await raw(`/api/sessions/${'1'.repeat(10_000)}/results.csv`, {})).toBeLessThan(500);
    expect(await raw('/api/sessions/%ZZ/results.csv', {})).toBe(400);
    await expectHealthy();
  });

  // Found by the GET /api/me property (seed 42, run 41; the other cookie-reading endpoints too): a Cookie header with a malformed
  // percent-escape made parseCookies (server/src/security/tokens.ts) throw a URIError, which
  // the error handler turned into 500 INTERNAL on every endpoint that reads the cookie.
  // Fixed in tokens.ts: a value that does not decode is kept as it is.
  it.each(['qr_instructor=%E0%A4%A', 'qr_instructor=%', 'a=%zz; qr_instructor=1.2'])('seed 42: Cookie "%s" was a 500 (URIError in parseCookies)', async (c) => {
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/api/banks'], ['POST', '/api/sessions'], ['GET', `/api/sessions/${session.code}/results.csv`]] as const) {
      const a = await checked({ method, path, headers: { cookie: c, 'content-type': 'application/json' }, body: '{}' });
      expect(a.status, `${method} ${path}`).toBe(method === 'GET' && path === '/api/me' ? 200 : 401);
    }
    await expectHealthy();
  });
});
