/**
 * HTTP (Express 5): health, instructor login, banks, session creation, results export and
 * the built client. Every body and query is parsed by zod; every error is
 * `{ error: { code, message } }` with a matching status.
 */
import { Bank, SessionOptions, type AppError, type ErrorCode } from '@quizroom/shared';
import { checkBankSource, giftToBank, type BankError } from '@quizroom/question-bank';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { buildResults, resultsCsv } from '../game/results.ts';
import type { GameService } from '../game/service.ts';
import type { Logger } from '../logger.ts';
import { RateLimiter } from '../security/rate-limit.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { InstructorCookie, parseCookies, safeEqual, sha256 } from '../security/tokens.ts';
import { yamlNestingError } from './upload-guard.ts';

export interface HttpDeps {
  service: GameService;
  banks: Bank[];
  password: string;
  logger: Logger;
  clock: () => number;
  storeKind: 'memory' | 'redis';
  publicUrl: (req: Request) => string;
  cookieSecure: boolean;
  trustProxy: number;
  clientDist: string | null;
  loginLimit?: { capacity: number; refillPerSec: number };
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export class HttpError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly extra: Record<string, unknown> = {}, readonly status = STATUS[code] ?? 409) {
    super(message);
  }
}

const LoginBody = z.strictObject({ password: z.string().min(1).max(200) });
const Upload = z.strictObject({ filename: z.string().min(1).max(200), content: z.string().max(1024 * 1024) });
const CreateSessionBody = z
  .strictObject({
    bankId: z.string().min(1).max(64).optional(),
    upload: Upload.optional(),
    options: SessionOptions.default(SessionOptions.parse({})),
  })
  .refine((b) => (b.bankId === undefined) !== (b.upload === undefined), { error: 'give either bankId or upload', path: ['bankId'] });
const CodeParam = z.strictObject({ code: z.string().regex(/^\d{6}$/, { error: 'a join code has 6 digits' }), format: z.enum(['csv', 'json']) });

/** Parses an uploaded bank (YAML, JSON or GIFT by file extension) with located errors. */
export function parseUploadedBank(filename: string, content: string): { bank?: Bank; errors: BankError[] } {
  if (/\.(gift|txt)$/i.test(filename)) {
    const gift = giftToBank(content, { fileName: filename });
    if (!gift.bank) return { errors: gift.errors };
    const parsed = Bank.safeParse(gift.bank);
    if (parsed.success) return { bank: parsed.data, errors: [] };
    return { errors: parsed.error.issues.map((i) => ({ file: filename, line: 1, column: 1, path: i.path.join('.'), message: i.message })) };
  }
  const tooDeep = yamlNestingError(content, filename); // before the parser: deep nesting can abort the process
  if (tooDeep) return { errors: [tooDeep] };
  const checked = checkBankSource(content, filename);
  return checked.bank ? { bank: checked.bank, errors: [] } : { errors: checked.errors };
}

/**
 * 422 with every located problem. The list may end with a "… and N more not listed" line
 * (the loader caps it), so the message does not claim a count.
 */
function refuseUpload(res: Response, filename: string, errors: BankError[]): void {
  const located = errors.map(({ line, column, path, message }) => ({ line, column, path, message }));
  res.status(422).json({ error: { code: 'BAD_REQUEST', message: `${filename} is not a valid bank: fix the problems listed by line` }, errors: located });
}

function bankSummary(bank: Bank) {
  const types: Record<string, number> = {};
  for (const q of bank.questions) types[q.type] = (types[q.type] ?? 0) + 1;
  return { id: bank.id, title: bank.title, description: bank.description, language: bank.language, questionCount: bank.questions.length, types };
}

export function createHttpApp(deps: HttpDeps) {
  const { service, logger, clock } = deps;
  const app = express();
  const cookie = new InstructorCookie(deps.password);
  const loginLimiter = new RateLimiter(deps.loginLimit ?? { capacity: 5, refillPerSec: 1 / 12 }, clock);
  const bankById = new Map(deps.banks.map((b) => [b.id, b]));

  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", 'ws:', 'wss:'],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          upgradeInsecureRequests: null,
        },
      },
      strictTransportSecurity: deps.cookieSecure,
    }),
  );
  app.use('/api', express.json({ limit: '1200kb' }));

  const isInstructor = (req: Request) => cookie.verify(parseCookies(req.headers.cookie)[cookie.name], clock());
  const requireInstructor = (req: Request, _res: Response, next: NextFunction) => {
    if (!isInstructor(req)) throw new HttpError('UNAUTHORIZED', 'log in as the instructor first');
    next();
  };
  const body = <T>(schema: z.ZodType<T>, req: Request): T => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError('BAD_REQUEST', `${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}`);
    }
    return parsed.data;
  };

  app.get('/healthz', async (_req, res) => {
    const reachable = await service.store.ping().catch(() => false);
    res.status(reachable ? 200 : 503).json({ ok: reachable, store: deps.storeKind, redis: deps.storeKind === 'redis' ? (reachable ? 'up' : 'down') : 'not used' });
  });

  app.post('/api/login', (req, res) => {
    // Only failures spend the budget: an instructor logging in on several devices is never throttled.
    const ip = req.ip ?? 'unknown';
    if (!loginLimiter.allows(ip)) throw new HttpError('RATE_LIMITED', 'too many failed login attempts: wait a minute');
    const { password } = body(LoginBody, req);
    if (!safeEqual(sha256(password), sha256(deps.password))) {
      loginLimiter.take(ip);
      throw new HttpError('UNAUTHORIZED', 'wrong password');
    }
    const { value, maxAgeMs } = cookie.issue(clock());
    res.cookie(cookie.name, value, { httpOnly: true, sameSite: 'strict', secure: deps.cookieSecure, maxAge: maxAgeMs, path: '/' });
    res.json({ ok: true });
  });
  app.post('/api/logout', (_req, res) => {
    res.clearCookie(cookie.name, { path: '/' });
    res.json({ ok: true });
  });
  app.get('/api/me', (req, res) => {
    res.json({ instructor: isInstructor(req) });
  });

  app.get('/api/banks', requireInstructor, (_req, res) => {
    res.json({ banks: deps.banks.map(bankSummary) });
  });
  app.post('/api/banks/validate', requireInstructor, (req, res) => {
    const upload = body(Upload, req);
    const { bank, errors } = parseUploadedBank(upload.filename, upload.content);
    if (!bank) {
      refuseUpload(res, upload.filename, errors);
      return;
    }
    res.json({ bank: bankSummary(bank) });
  });

  app.post('/api/sessions', requireInstructor, async (req, res) => {
    const input = body(CreateSessionBody, req);
    let bank: Bank | undefined;
    if (input.bankId !== undefined) {
      bank = bankById.get(input.bankId);
      if (!bank) throw new HttpError('NOT_FOUND', `no bank "${input.bankId}"`);
    } else {
      const upload = input.upload!;
      const parsed = parseUploadedBank(upload.filename, upload.content);
      if (!parsed.bank) {
        refuseUpload(res, upload.filename, parsed.errors);
        return;
      }
      bank = parsed.bank;
    }
    const { code, hostToken } = await service.createSession(bank, input.options);
    const base = deps.publicUrl(req);
    res.status(201).json({ code, hostToken, joinUrl: `${base}/join/${code}`, displayUrl: `${base}/display/${code}`, hostUrl: `${base}/host/${code}` });
  });

  /** Instructor cookie, or the session's host token as a Bearer header (never in the URL). */
  const canExport = async (req: Request, code: string) => {
    if (isInstructor(req)) return true;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const hash = bearer ? await service.store.hostTokenHash(code) : null;
    return hash !== null && bearer !== undefined && safeEqual(hash, sha256(bearer));
  };
  app.get('/api/sessions/:code/results.:format', async (req, res) => {
    const params = CodeParam.safeParse(req.params);
    if (!params.success) throw new HttpError('BAD_REQUEST', params.error.issues[0]!.message);
    if (!(await canExport(req, params.data.code))) throw new HttpError('UNAUTHORIZED', 'log in as the instructor first');
    const state = await service.store.loadState(params.data.code);
    if (!state) throw new HttpError('NOT_FOUND', 'no such session (results are kept for the retention period)');
    const results = buildResults(state, clock());
    const name = `quizroom-${state.session.code}-${state.session.bankId}`;
    res.setHeader('Cache-Control', 'no-store');
    if (params.data.format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment(`${name}.csv`).send('\ufeff' + resultsCsv(results));
    } else {
      res.attachment(`${name}.json`).json(results);
    }
  });

  app.use('/api', (_req, _res) => {
    throw new HttpError('NOT_FOUND', 'no such endpoint');
  });

  if (deps.clientDist && existsSync(path.join(deps.clientDist, 'index.html'))) {
    const index = path.join(deps.clientDist, 'index.html');
    app.use(express.static(deps.clientDist, { index: false, maxAge: '1h', setHeaders: (res, file) => file.endsWith('.html') && res.setHeader('Cache-Control', 'no-cache') }));
    app.get(/^\/(join\/\d{6}|host(\/\d{6})?|display\/\d{6})?\/?$/, (_req, res) => res.setHeader('Cache-Control', 'no-cache').sendFile(index));
  } else {
    app.get('/', (_req, res) => {
      res.type('text/plain').send('Quizroom server is running, but the client is not built: run `npm run build -w @quizroom/client` (npm start does it for you).');
    });
  }

  app.use((_req, _res) => {
    throw new HttpError('NOT_FOUND', 'not found');
  });
  // Express 5 forwards rejected promises here too.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = toHttpError(err, logger);
    res.status(e.status).json({ error: { code: e.code, message: e.message } satisfies AppError, ...e.extra });
  });
  return app;
}

function toHttpError(err: unknown, logger: Logger): HttpError {
  if (err instanceof HttpError) return err;
  const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
  if (status === 413) return new HttpError('BAD_REQUEST', 'request body too large', {}, 413);
  if (status === 400) return new HttpError('BAD_REQUEST', 'malformed request body', {}, 400);
  if (status && status >= 400 && status < 500) return new HttpError('BAD_REQUEST', 'bad request', {}, status);
  if (isStoreUnavailable(err)) return new HttpError('UNAVAILABLE', 'the store is unreachable right now: try again');
  logger.error({ err }, 'request failed');
  return new HttpError('INTERNAL', 'something went wrong');
}
