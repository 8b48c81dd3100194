/**
 * Redis SessionStore (node-redis v5). Key schema, TTLs and the atomicity of every
 * operation: docs/storage.md.
 *
 * All keys of one session share the Redis Cluster hash tag `{<code>}`, so every Lua script
 * below touches a single slot. Scripts receive JSON as opaque strings and never re-encode
 * it (Lua's cjson would round numbers to 14 significant digits and turn `[]` into `{}`):
 * all JSON is built in TypeScript. The only decode in Lua reads a small integer
 * (`textVersion`).
 *
 * Keys outside the session's slot (`ptoken:<hash>`, `live`) are written by separate
 * commands; each is an index whose stale entries are harmless (a token is only valid while
 * the session's own `ptok` hash lists it; `live` members are pruned by expiry and checked).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Question } from '@quizroom/shared';
import { nicknameKey } from '@quizroom/shared';
import type { RedisClientType } from 'redis';
import type { AnswerRecord, GameState, Grade, Player, SessionCore } from '../engine/state.ts';
import { gateOf } from './gate.ts';
import { SessionQuestionsCache } from './session-questions.ts';
import type { AddPlayerResult, Gate, RecordAnswerArgs, RecordAnswerResult, SessionSecrets, SessionStore } from './types.ts';

export interface RedisStoreOptions {
  /** Namespace of every key (default 'qr'). */
  prefix?: string;
  /** TTL of a live session's keys, refreshed by every commit (default 24 h). */
  liveTtlSeconds?: number;
  /** Clock for the `live` index (default Date.now). Redis TTLs themselves run on Redis time. */
  clock?: () => number;
  /** close() closes the client (default true: the store owns its client). */
  ownsClient?: boolean;
}

// ---------------------------------------------------------------------- scripts

class LuaScript {
  readonly sha: string;
  constructor(readonly name: string, readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/**
 * createSession. KEYS: core questions gate host, then keys to clear (leftovers of an
 * expired session with the same code). ARGV: core, questions, host hash, ttlMs, gate fields…
 * (with `qv`, the version of the questions: see SessionQuestionsCache).
 */
const CREATE = new LuaScript(
  'create',
  `
local ttl = ARGV[4]
-- SET NX: a live code is refused
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then return 0 end
for i = 5, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[4], ARGV[3], 'PX', ttl)
return 1
`,
);

/** acquireLease. KEYS: gate. ARGV: owner, now, leaseUntil, sealStep ('' = none: clears a stale seal). */
const ACQUIRE = new LuaScript(
  'acquire',
  `
local g = redis.call('HMGET', KEYS[1], 'phase', 'lease', 'leaseUntil')
if not g[1] then return 0 end -- no session
-- held by someone else and not expired
if g[2] and g[2] ~= '' and g[2] ~= ARGV[1] and (tonumber(g[3]) or 0) > tonumber(ARGV[2]) then return 0 end
-- the seal is the lease holder's: a take-over replaces whatever an expired owner left
redis.call('HSET', KEYS[1], 'lease', ARGV[1], 'leaseUntil', ARGV[3], 'seal', ARGV[4])
return 1
`,
);

/**
 * clearExpiredSeal. KEYS: gate. ARGV: now. An expired lease that still holds a seal (its
 * owner died mid-command): clear both, so answers flow and that owner's commit is refused.
 */
const CLEAR_EXPIRED_SEAL = new LuaScript(
  'clearExpiredSeal',
  `
local g = redis.call('HMGET', KEYS[1], 'seal', 'lease', 'leaseUntil')
if not g[1] or g[1] == '' then return 0 end -- no session, or no seal
if g[2] and g[2] ~= '' and (tonumber(g[3]) or 0) > tonumber(ARGV[1]) then return 0 end -- held, unexpired
redis.call('HSET', KEYS[1], 'lease', '', 'leaseUntil', '', 'seal', '')
return 1
`,
);

/** releaseLease. KEYS: gate. ARGV: owner. Only the owner releases; the seal goes with it. */
const RELEASE = new LuaScript(
  'release',
  `
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease', '', 'leaseUntil', '', 'seal', '')
return 1
`,
);

/**
 * commit. KEYS: core gate players graded scores nicks, then every other key of the session
 * (TTL refresh; answer records are written to KEYS[i] by index).
 * ARGV: owner, core, liveTtlMs,
 *   nGate, gate field/value pairs…,
 *   nPlayers, per player: id, json, gradedMode ('delta' | 'nx'), graded, score, kicked ('1'/'0'),
 *     nicknameKey ('' unless the player is new to the store's caller),
 *   nAnswers, per record: key index, playerId, json.
 * Returns the TTL applied (ms), or -1 when the lease is not held by `owner`.
 */
const COMMIT = new LuaScript(
  'commit',
  `
local core, gate, players, graded, scores, nicks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
-- only the lease owner may write (an expired lease nobody took over is still held)
if redis.call('HGET', gate, 'lease') ~= ARGV[1] then return -1 end
redis.call('SET', core, ARGV[2], 'KEEPTTL')
-- the gate is re-derived from the new core: this also clears the seal
local i = 4
local n = tonumber(ARGV[i])
redis.call('HSET', gate, unpack(ARGV, i + 1, i + n))
i = i + n + 1
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local id = ARGV[i]
  redis.call('HSET', players, id, ARGV[i + 1])
  -- graded points are owned by saveGrade: a commit only moves them by its own change
  if ARGV[i + 2] == 'delta' then redis.call('HINCRBY', graded, id, ARGV[i + 3])
  else redis.call('HSETNX', graded, id, ARGV[i + 3]) end
  if ARGV[i + 5] == '1' then redis.call('ZREM', scores, id)
  else redis.call('ZADD', scores, tonumber(ARGV[i + 4]) + tonumber(redis.call('HGET', graded, id)), id) end
  -- a player new to the caller keeps its nickname reserved
  if ARGV[i + 6] ~= '' then redis.call('HSETNX', nicks, ARGV[i + 6], id) end
  i = i + 7
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
  i = i + 3
end
-- live sessions get a fresh TTL; a retained (finished) one keeps its retention
local ttl = tonumber(ARGV[3])
if redis.call('HGET', gate, 'retain') == '1' then ttl = redis.call('PTTL', core) end
if ttl > 0 then
  for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ttl) end
end
return ttl
`,
);

/**
 * addPlayer. KEYS: gate players nicks graded scores ptok. ARGV: playerId, json, nicknameKey,
 * graded, score, tokenHash ('' for none). Checks phase, late join, lock, nickname (kicked
 * players keep theirs), id, cap. With a token, also lists it in the session's `ptok` (the
 * session half of putPlayerToken); the caller writes the global `ptoken:` index in the same
 * pipeline.
 */
const ADD_PLAYER = new LuaScript(
  'addPlayer',
  `
local g = redis.call('HMGET', KEYS[1], 'phase', 'late', 'locked', 'max')
if not g[1] then return 'no-session' end
if g[1] == 'finished' then return 'finished' end
if g[1] ~= 'lobby' and g[2] ~= '1' then return 'started' end
if g[3] == '1' then return 'locked' end
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return 'nickname-taken' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'nickname-taken' end -- id in use (J6)
if redis.call('HLEN', KEYS[2]) >= tonumber(g[4]) then return 'full' end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[5], tonumber(ARGV[5]) + tonumber(ARGV[4]), ARGV[1])
-- keys created here live as long as the session
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then for k = 2, 5 do redis.call('PEXPIRE', KEYS[k], ttl) end end
if ARGV[6] ~= '' and ttl > 0 then
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[6]) -- a new player has no other token yet
  redis.call('PEXPIRE', KEYS[6], ttl)
end
return 'ok'
`,
);

/**
 * recordAnswer. KEYS: gate, answers of the question. ARGV: step, questionId, now,
 * acceptUntil, mode ('new' | 'replace'), expectedTextVersion, playerId, json.
 */
const RECORD_ANSWER = new LuaScript(
  'recordAnswer',
  `
local g = redis.call('HMGET', KEYS[1], 'phase', 'step', 'qid', 'seal', 'paused')
if not g[1] then return 'no-session' end
-- open, for this step and question, not sealed for this step, not paused
if g[1] ~= 'open' or g[2] ~= ARGV[1] or g[3] ~= ARGV[2] or g[4] == ARGV[1] or g[5] == '1' then return 'closed' end
if tonumber(ARGV[3]) > tonumber(ARGV[4]) then return 'too-late' end
if ARGV[5] == 'new' then
  if redis.call('HSETNX', KEYS[2], ARGV[7], ARGV[8]) == 0 then return 'duplicate' end
else
  local stored = redis.call('HGET', KEYS[2], ARGV[7])
  -- decode only to read a small integer; the record is never re-encoded here
  if not stored or cjson.decode(stored).textVersion ~= tonumber(ARGV[6]) then return 'conflict' end
  redis.call('HSET', KEYS[2], ARGV[7], ARGV[8])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 'ok'
`,
);

/**
 * saveGrade (compare-and-set; the new record is built in TypeScript). KEYS: answers of the
 * question, graded, scores, gate. ARGV: playerId, expected stored record, new record,
 * graded-points delta. Returns 0 when the record changed meanwhile (the caller retries).
 */
const SAVE_GRADE = new LuaScript(
  'saveGrade',
  `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[4])
-- XX: a kicked player (not on the leaderboard) stays off it
redis.call('ZADD', KEYS[3], 'XX', 'INCR', ARGV[4], ARGV[1])
local ttl = redis.call('PTTL', KEYS[4])
if ttl > 0 and redis.call('PTTL', KEYS[2]) == -1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`,
);

/**
 * putPlayerToken, session half. KEYS: ptok, gate. ARGV: playerId, tokenHash.
 * ptok maps playerId → space-separated token hashes (hex, so no spaces inside).
 * Returns the session's TTL (ms), or 0 when there is no session.
 */
const PUT_TOKEN = new LuaScript(
  'putToken',
  `
local ttl = redis.call('PTTL', KEYS[2])
if ttl <= 0 then return 0 end
local list = redis.call('HGET', KEYS[1], ARGV[1])
if not list then list = ARGV[2]
elseif not string.find(' ' .. list .. ' ', ' ' .. ARGV[2] .. ' ', 1, true) then list = list .. ' ' .. ARGV[2] end
redis.call('HSET', KEYS[1], ARGV[1], list)
redis.call('PEXPIRE', KEYS[1], ttl)
return ttl
`,
);

/** revokePlayerTokens, session half. KEYS: ptok. ARGV: playerId. Returns the revoked list. */
const REVOKE_TOKENS = new LuaScript(
  'revokeTokens',
  `
local list = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return list
`,
);

/** setRetention. KEYS: gate, then every other key of the session. ARGV: ttlMs. */
const RETAIN = new LuaScript(
  'retain',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'retain', '1')
for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[1]) end
return 1
`,
);

/** The live index. KEYS: live. ARGV: code, expiresAt (ms), ttlMs. The key lives as long as its longest member. */
const TOUCH_LIVE = new LuaScript(
  'touchLive',
  `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local t = redis.call('PTTL', KEYS[1])
if t == -1 or t < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`,
);

// ---------------------------------------------------------------------- keys

/** The key names of one session (all in the slot of the hash tag `{code}`). */
export class SessionKeys {
  readonly base: string;
  constructor(prefix: string, readonly code: string) {
    this.base = `${prefix}:s:{${code}}`;
  }
  get core() { return `${this.base}:core`; }
  get questions() { return `${this.base}:questions`; }
  get gate() { return `${this.base}:gate`; }
  get players() { return `${this.base}:players`; }
  get nicks() { return `${this.base}:nicks`; }
  get graded() { return `${this.base}:graded`; }
  get scores() { return `${this.base}:scores`; }
  get host() { return `${this.base}:host`; }
  get ptok() { return `${this.base}:ptok`; }
  answers(questionId: string) { return `${this.base}:a:${questionId}`; }
  /** Every key of the session, given its question ids. */
  all(questionIds: Iterable<string>): string[] {
    const keys = [this.core, this.gate, this.players, this.graded, this.scores, this.nicks, this.questions, this.host, this.ptok];
    for (const id of new Set(questionIds)) keys.push(this.answers(id));
    return keys;
  }
}

// ---------------------------------------------------------------------- encoding

function gateFields(gate: Gate): string[] {
  return [
    'step', String(gate.step),
    'phase', gate.phase,
    'qid', gate.questionId ?? '',
    'deadline', gate.deadline === null ? '' : String(gate.deadline),
    'paused', gate.paused ? '1' : '0',
    'locked', gate.locked ? '1' : '0',
    'late', gate.allowLateJoin ? '1' : '0',
    'max', String(gate.maxPlayers),
    'seal', gate.seal === null ? '' : String(gate.seal),
  ];
}

function parseGate(h: Record<string, string>): Gate | null {
  if (h.phase === undefined || h.step === undefined) return null;
  const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
  return {
    step: Number(h.step),
    phase: h.phase as Gate['phase'],
    questionId: h.qid ? h.qid : null,
    deadline: num(h.deadline),
    paused: h.paused === '1',
    locked: h.locked === '1',
    allowLateJoin: h.late === '1',
    maxPlayers: Number(h.max),
    seal: num(h.seal),
  };
}

function requireInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new Error(`RedisStore: ${what} must be a whole number (got ${value})`);
  return value;
}

/** Each lost round means another grader's write landed: n concurrent graders need at most n attempts. */
const SAVE_GRADE_ATTEMPTS = 25;

// ---------------------------------------------------------------------- store

export class RedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #client: RedisClientType;
  readonly #prefix: string;
  readonly #liveTtlMs: number;
  readonly #clock: () => number;
  readonly #ownsClient: boolean;
  /** Questions never change after createSession: parsed once per session, not per read (ST25). */
  readonly #questions = new SessionQuestionsCache();

  constructor(client: RedisClientType, options: RedisStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? 'qr';
    this.#liveTtlMs = Math.round((options.liveTtlSeconds ?? 24 * 3600) * 1000);
    this.#clock = options.clock ?? Date.now;
    this.#ownsClient = options.ownsClient ?? true;
  }

  /** The key names of a session (for tests and tooling). */
  keys(code: string): SessionKeys {
    return new SessionKeys(this.#prefix, code);
  }

  isConnected(): boolean {
    return this.#client.isReady;
  }

  async ping(): Promise<boolean> {
    // Not connected: answer at once instead of waiting in the offline queue.
    if (!this.#client.isReady) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const write = this.#client.set(`${this.#prefix}:health`, String(this.#clock()), { expiration: { type: 'PX', value: 10_000 } });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('ping timed out')), 2000);
      });
      return (await Promise.race([write, timeout])) === 'OK';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#ownsClient && this.#client.isOpen) await this.#client.close();
  }

  async createSession(state: GameState, secrets: SessionSecrets): Promise<'ok' | 'code-taken'> {
    const code = state.session.code;
    const k = this.keys(code);
    const qids = state.questions.map((q) => q.id);
    const leftovers = [k.players, k.nicks, k.graded, k.scores, k.ptok, ...qids.map((id) => k.answers(id))];
    const questionsJson = JSON.stringify(state.questions);
    // Random, so that a later session under the same code never matches a cached copy of these questions.
    const version = randomBytes(12).toString('base64url');
    const created = await this.#run(
      CREATE,
      [k.core, k.questions, k.gate, k.host, ...leftovers],
      [JSON.stringify(state.session), questionsJson, secrets.hostTokenHash, String(this.#liveTtlMs), ...gateFields(gateOf(state.session)), 'qv', version],
    );
    if (created !== 1) return 'code-taken';
    this.#questions.parse(code, version, questionsJson);
    await this.#writeInitialContent(k, state);
    await this.#touchLive(code, this.#liveTtlMs);
    return 'ok';
  }

  async hostTokenHash(code: string): Promise<string | null> {
    return this.#client.get(this.keys(code).host);
  }

  async gate(code: string): Promise<Gate | null> {
    return parseGate(await this.#client.hGetAll(this.keys(code).gate));
  }

  async liveCodes(): Promise<string[]> {
    const live = `${this.#prefix}:live`;
    await this.#client.zRemRangeByScore(live, '-inf', this.#clock());
    const codes = await this.#client.zRange(live, 0, -1);
    if (codes.length === 0) return [];
    // The index may outlive a session (e.g. deleted by hand): keep codes whose core exists.
    const multi = this.#client.multi();
    for (const code of codes) multi.exists(this.keys(code).core);
    const exists = (await multi.exec()) as unknown as number[];
    return codes.filter((_, i) => exists[i] === 1);
  }

  async loadState(code: string): Promise<GameState | null> {
    const k = this.keys(code);
    // The answer keys follow from the question ids: the questions held for this code, checked
    // against the version read in the snapshot; fetched (again) only when that version differs.
    let held = this.#questions.latest(code);
    for (let attempt = 0; ; attempt++) {
      if (!held || attempt > 0) {
        const [questionsJson, version] = (await this.#client.multi().get(k.questions).hGet(k.gate, 'qv').exec()) as unknown as (string | null)[];
        if (questionsJson === null || questionsJson === undefined) return null;
        held = { version: version ?? '', questions: this.#questions.parse(code, version ?? null, questionsJson) };
      }
      const { questions } = held;
      // One transaction: a consistent snapshot of the session.
      const multi = this.#client.multi().get(k.core).hGet(k.gate, 'qv').hGetAll(k.players).hGetAll(k.graded);
      for (const q of questions) multi.hGetAll(k.answers(q.id));
      const [coreJson, version, playersRaw, gradedRaw, ...answersRaw] = (await multi.exec()) as unknown as [
        string | null,
        string | null,
        Record<string, string>,
        Record<string, string>,
        ...Record<string, string>[],
      ];
      if (coreJson === null) return null;
      if ((version ?? '') !== held.version) {
        // Another session now has this code (the copy held is an earlier session's): read its questions.
        if (attempt < 3) continue;
        throw new Error(`RedisStore: the questions of session ${code} kept changing while it was read`);
      }
      return this.#assembleState(coreJson, questions, playersRaw, gradedRaw, answersRaw);
    }
  }

  #assembleState(
    coreJson: string,
    questions: Question[],
    playersRaw: Record<string, string>,
    gradedRaw: Record<string, string>,
    answersRaw: Record<string, string>[],
  ): GameState {
    const players: Record<string, Player> = {};
    for (const [id, json] of Object.entries(playersRaw)) players[id] = withGraded(JSON.parse(json) as Player, gradedRaw[id]);
    const answers: Record<string, Record<string, AnswerRecord>> = {};
    questions.forEach((q, i) => {
      const raw = answersRaw[i] ?? {};
      const entries = Object.entries(raw);
      if (entries.length === 0) return;
      const byPlayer: Record<string, AnswerRecord> = {};
      for (const [pid, json] of entries) byPlayer[pid] = JSON.parse(json) as AnswerRecord;
      answers[q.id] = byPlayer;
    });
    return { session: JSON.parse(coreJson) as SessionCore, questions, players, answers };
  }

  async loadSlice(code: string, playerId: string, questionId: string | null): Promise<GameState | null> {
    // The hot path of every answer: the questions are fetched only when no copy of them is held.
    const slice = await this.#readSlice(code, playerId, questionId, this.#questions.latest(code) === null);
    return slice === 'questions-needed' ? ((await this.#readSlice(code, playerId, questionId, true)) as GameState | null) : slice;
  }

  async #readSlice(code: string, playerId: string, questionId: string | null, withQuestions: boolean): Promise<GameState | null | 'questions-needed'> {
    const k = this.keys(code);
    const multi = this.#client.multi().get(k.core).hGet(k.gate, 'qv').hGet(k.players, playerId).hGet(k.graded, playerId);
    if (withQuestions) multi.get(k.questions);
    if (questionId !== null) multi.hGet(k.answers(questionId), playerId);
    const replies = (await multi.exec()) as unknown as (string | null)[];
    const [coreJson, version, playerJson, graded] = replies;
    const questionsJson = withQuestions ? replies[4] : null;
    const recordJson = questionId !== null ? replies.at(-1) : null;
    if (!coreJson) return null;
    let questions: Question[] | null;
    if (withQuestions) {
      if (!questionsJson) return null;
      questions = this.#questions.parse(code, version ?? null, questionsJson);
    } else {
      questions = this.#questions.get(code, version ?? null);
      if (!questions) return 'questions-needed';
    }
    const players: Record<string, Player> = playerJson ? { [playerId]: withGraded(JSON.parse(playerJson) as Player, graded) } : {};
    const answers: Record<string, Record<string, AnswerRecord>> =
      questionId !== null && recordJson ? { [questionId]: { [playerId]: JSON.parse(recordJson) as AnswerRecord } } : {};
    return { session: JSON.parse(coreJson) as SessionCore, questions, players, answers };
  }

  async loadPlayer(code: string, playerId: string): Promise<Player | null> {
    const k = this.keys(code);
    const [json, graded] = (await this.#client.multi().hGet(k.players, playerId).hGet(k.graded, playerId).exec()) as unknown as (string | null)[];
    return json ? withGraded(JSON.parse(json) as Player, graded) : null;
  }

  async acquireLease(code: string, owner: string, now: number, ttlMs: number, sealStep: number | null): Promise<boolean> {
    const result = await this.#run(ACQUIRE, [this.keys(code).gate], [owner, String(now), String(now + ttlMs), sealStep === null ? '' : String(sealStep)]);
    return result === 1;
  }

  async clearExpiredSeal(code: string, now: number): Promise<boolean> {
    return (await this.#run(CLEAR_EXPIRED_SEAL, [this.keys(code).gate], [String(now)])) === 1;
  }

  async releaseLease(code: string, owner: string): Promise<void> {
    await this.#run(RELEASE, [this.keys(code).gate], [owner]);
  }

  async commit(code: string, owner: string, prev: GameState, next: GameState): Promise<'ok' | 'lost-lease'> {
    const k = this.keys(code);
    const questionIds = [...next.questions.map((q) => q.id), ...Object.keys(next.answers)];
    const keys = k.all(questionIds);
    const keyIndex = new Map(keys.map((key, i) => [key, i + 1])); // Lua's KEYS is 1-based

    const gate = gateFields(gateOf(next.session));
    const args: string[] = [owner, JSON.stringify(next.session), String(this.#liveTtlMs), String(gate.length), ...gate];

    const changedPlayers: string[] = [];
    let playerCount = 0;
    for (const [id, player] of Object.entries(next.players)) {
      const before = prev.players[id];
      if (player === before) continue;
      playerCount++;
      const [mode, graded] = before ? ['delta', player.gradedPoints - before.gradedPoints] : ['nx', player.gradedPoints];
      requireInteger(graded, 'graded points');
      const nick = before ? '' : nicknameKey(player.nickname);
      changedPlayers.push(id, JSON.stringify(player), mode, String(graded), String(player.score), player.kicked ? '1' : '0', nick);
    }
    args.push(String(playerCount), ...changedPlayers);

    const changedAnswers: string[] = [];
    let answerCount = 0;
    for (const [qid, byPlayer] of Object.entries(next.answers)) {
      const before = prev.answers[qid];
      if (byPlayer === before) continue;
      for (const [pid, record] of Object.entries(byPlayer)) {
        if (record === before?.[pid]) continue;
        answerCount++;
        changedAnswers.push(String(keyIndex.get(k.answers(qid))), pid, JSON.stringify(record));
      }
    }
    args.push(String(answerCount), ...changedAnswers);

    const ttl = (await this.#run(COMMIT, keys, args)) as number;
    if (ttl === -1) return 'lost-lease';
    if (ttl > 0) await this.#touchLive(code, ttl);
    return 'ok';
  }

  async addPlayer(code: string, player: Player, nicknameKey: string, tokenHash?: string): Promise<AddPlayerResult> {
    const k = this.keys(code);
    requireInteger(player.gradedPoints, 'graded points');
    const add = this.#run(
      ADD_PLAYER,
      [k.gate, k.players, k.nicks, k.graded, k.scores, k.ptok],
      [player.id, JSON.stringify(player), nicknameKey, String(player.gradedPoints), String(player.score), tokenHash ?? ''],
    ) as Promise<string>;
    if (tokenHash === undefined) return (await add) as AddPlayerResult;
    // The index that finds the session by token, sent in the same round trip as the script (one
    // pipeline): an entry is only valid once the session's own `ptok` lists the hash, which the
    // script does atomically with the admission, so a refused join leaves nothing usable
    // (and the entry is deleted). Its TTL is the live TTL, which is what the session's keys
    // have after any commit; setRetention moves both when the session finishes.
    const tokenKey = this.#tokenKey(tokenHash);
    const [result] = await Promise.all([add, this.#client.set(tokenKey, `${code}:${player.id}`, { expiration: { type: 'PX', value: this.#liveTtlMs } })]);
    if (result !== 'ok') {
      await this.#client.del(tokenKey);
      return result as AddPlayerResult;
    }
    return 'ok';
  }

  async recordAnswer(code: string, args: RecordAnswerArgs): Promise<RecordAnswerResult> {
    const k = this.keys(code);
    const { record, mode } = args;
    return (await this.#run(
      RECORD_ANSWER,
      [k.gate, k.answers(record.questionId)],
      [
        String(args.step),
        record.questionId,
        String(args.now),
        String(args.acceptUntil),
        mode.kind,
        mode.kind === 'replace' ? String(mode.expectedTextVersion) : '',
        record.playerId,
        JSON.stringify(record),
      ],
    )) as RecordAnswerResult;
  }

  async saveGrade(code: string, questionId: string, playerId: string, grade: Omit<Grade, 'version'>): Promise<Grade | null> {
    const k = this.keys(code);
    const answersKey = k.answers(questionId);
    // Optimistic: build the new record from the stored one, write it only if the stored one
    // is still the same string. Only a concurrent write to the very same record retries.
    for (let attempt = 0; attempt < SAVE_GRADE_ATTEMPTS; attempt++) {
      const storedJson = await this.#client.hGet(answersKey, playerId);
      if (storedJson === null) return null;
      const stored = JSON.parse(storedJson) as AnswerRecord;
      const newGrade: Grade = { ...grade, version: (stored.grade?.version ?? 0) + 1 };
      const delta = requireInteger(newGrade.points - (stored.grade?.points ?? 0), 'grade points');
      const written = await this.#run(
        SAVE_GRADE,
        [answersKey, k.graded, k.scores, k.gate],
        [playerId, storedJson, JSON.stringify({ ...stored, grade: newGrade }), String(delta)],
      );
      if (written === 1) return newGrade;
    }
    throw new Error(`saveGrade: the response of ${playerId} to ${questionId} kept changing; try again`);
  }

  async putPlayerToken(code: string, tokenHash: string, playerId: string): Promise<void> {
    const k = this.keys(code);
    // Session half first: a token is valid only once its session lists it.
    const ttl = (await this.#run(PUT_TOKEN, [k.ptok, k.gate], [playerId, tokenHash])) as number;
    if (ttl <= 0) return;
    await this.#client.set(this.#tokenKey(tokenHash), `${code}:${playerId}`, { expiration: { type: 'PX', value: ttl } });
  }

  async playerByToken(tokenHash: string): Promise<{ code: string; playerId: string } | null> {
    const value = await this.#client.get(this.#tokenKey(tokenHash));
    if (value === null) return null;
    const sep = value.indexOf(':');
    const code = value.slice(0, sep);
    const playerId = value.slice(sep + 1);
    // Valid only while the session's own list holds it (revocation is one HDEL there).
    const list = await this.#client.hGet(this.keys(code).ptok, playerId);
    return list !== null && list.split(' ').includes(tokenHash) ? { code, playerId } : null;
  }

  async revokePlayerTokens(code: string, playerId: string): Promise<void> {
    const list = (await this.#run(REVOKE_TOKENS, [this.keys(code).ptok], [playerId])) as string | null;
    if (!list) return;
    await this.#client.del(list.split(' ').map((hash) => this.#tokenKey(hash)));
  }

  async setRetention(code: string, seconds: number): Promise<void> {
    const k = this.keys(code);
    const ttlMs = Math.round(seconds * 1000);
    const questionsJson = await this.#client.get(k.questions);
    if (questionsJson === null) return;
    const questionIds = (JSON.parse(questionsJson) as Question[]).map((q) => q.id);
    const keys = k.all(questionIds);
    // gate first: the script checks it exists
    const ordered = [k.gate, ...keys.filter((key) => key !== k.gate)];
    if ((await this.#run(RETAIN, ordered, [String(ttlMs)])) !== 1) return;
    await this.#touchLive(code, ttlMs);
    // Player tokens follow the session (students read their results while it is kept).
    const lists = await this.#client.hVals(k.ptok);
    const hashes = lists.flatMap((list) => list.split(' ')).filter(Boolean);
    if (hashes.length > 0) {
      const multi = this.#client.multi();
      for (const hash of hashes) multi.pExpire(this.#tokenKey(hash), ttlMs);
      await multi.exec();
    }
  }

  // ------------------------------------------------------------------ internals

  #tokenKey(tokenHash: string): string {
    return `${this.#prefix}:ptoken:${tokenHash}`;
  }

  async #touchLive(code: string, ttlMs: number): Promise<void> {
    await this.#run(TOUCH_LIVE, [`${this.#prefix}:live`], [code, String(this.#clock() + ttlMs), String(ttlMs)]);
  }

  /**
   * Players and answers a new session already has (normally none). Written after the
   * session exists, in one transaction.
   */
  async #writeInitialContent(k: SessionKeys, state: GameState): Promise<void> {
    const players = Object.values(state.players);
    const records = Object.values(state.answers).flatMap((byPlayer) => Object.values(byPlayer));
    if (players.length === 0 && records.length === 0) return;
    const multi = this.#client.multi();
    for (const p of players) {
      multi.hSet(k.players, p.id, JSON.stringify(p));
      multi.hSet(k.nicks, nicknameKey(p.nickname), p.id);
      multi.hSet(k.graded, p.id, String(requireInteger(p.gradedPoints, 'graded points')));
      if (!p.kicked) multi.zAdd(k.scores, { score: p.score + p.gradedPoints, value: p.id });
    }
    for (const r of records) multi.hSet(k.answers(r.questionId), r.playerId, JSON.stringify(r));
    for (const key of k.all(Object.keys(state.answers))) multi.pExpire(key, this.#liveTtlMs);
    await multi.exec();
  }

  /** EVALSHA, falling back to EVAL (which also caches the script) when Redis lacks it. */
  async #run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#client.evalSha(script.sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.#client.eval(script.source, { keys, arguments: args });
    }
  }
}

function withGraded(player: Player, graded: string | null | undefined): Player {
  return { ...player, gradedPoints: graded == null ? 0 : Number(graded) };
}
