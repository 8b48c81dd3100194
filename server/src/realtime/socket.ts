/**
 * Socket.IO: handshake authentication per role, one dispatcher per socket that parses every
 * payload with its zod schema and authorises the role before the shared handlers see it, acks
 * `{ ok, data } | { ok: false, error }`, and each socket's round trip (a probe as it
 * connects, then Engine.IO's heartbeat).
 */
import {
  ClientPayloads,
  DISPLAY_EVENTS,
  HOST_EVENTS,
  HandshakeAuth,
  STUDENT_EVENTS,
  type Ack,
  type ClientEvent,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '@quizroom/shared';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import type { GameState } from '../engine/index.ts';
import { gradingItems, type GameService, type Result } from '../game/service.ts';
import type { Logger } from '../logger.ts';
import { clientIp } from '../security/client-ip.ts';
import { friendlyNames } from '../security/friendly-names.ts';
import { JoinActivityTracker } from '../security/join-activity.ts';
import { RateLimiter, type BucketSpec } from '../security/rate-limit.ts';
import { safeEqual, sha256 } from '../security/tokens.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { Broadcaster, rooms } from './broadcaster.ts';
import { coalesceWrites, corkUpgrades } from './direct-write.ts';
import { KnownSessions } from './known-sessions.ts';

type Role = SocketData['role'];
type QSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type QServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const ALLOWED: Record<ClientEvent, Role> = Object.fromEntries([
  ...HOST_EVENTS.map((e) => [e, 'host']),
  ...STUDENT_EVENTS.map((e) => [e, 'student']),
  ...DISPLAY_EVENTS.map((e) => [e, 'display']),
]) as Record<ClientEvent, Role>;

export interface RealtimeDeps {
  service: GameService;
  logger: Logger;
  clock: () => number;
  /** Is a browser at this Origin allowed to open a socket? */
  originAllowed: (origin: string | undefined, host: string | undefined) => boolean;
  /** Proxies to trust for the client IP (X-Forwarded-For). */
  trustProxy?: number;
  /** Per student/display socket. */
  eventLimit?: BucketSpec;
  /** Per host socket (LIMIT_HOST_EVENT_*). */
  hostEventLimit?: BucketSpec;
  /** Join attempts per client IP. */
  joinLimit?: BucketSpec;
  /** Handshakes with an unknown join code per client IP. */
  badCodeLimit?: BucketSpec;
  /** Engine.IO heartbeat period (Socket.IO's default, 25 s, unless a test shortens it). */
  pingIntervalMs?: number;
}

/** A socket refused this many times by its rate limit is flooding: it is disconnected. */
const REFUSALS_BEFORE_CUTOFF = 100;

export function attachRealtime(httpServer: HttpServer, deps: RealtimeDeps) {
  const { service, logger, clock } = deps;
  const io: QServer = new Server(httpServer, {
    maxHttpBufferSize: 16 * 1024,
    perMessageDeflate: false,
    httpCompression: false,
    serveClient: false,
    ...(deps.pingIntervalMs !== undefined ? { pingInterval: deps.pingIntervalMs } : {}),
    allowRequest: (req: IncomingMessage, callback) => callback(null, deps.originAllowed(req.headers.origin, req.headers.host)),
  });
  corkUpgrades(httpServer);
  const joinActivity = new JoinActivityTracker(clock);
  const broadcaster = new Broadcaster(io as never, service.store, clock, logger, (code) => ({ joinActivity: joinActivity.get(code) }));
  // Students and displays: a burst of 20 then 10 events/s. The host grades whole groups at once.
  const perSocket = new RateLimiter(deps.eventLimit ?? { capacity: 20, refillPerSec: 10 }, clock);
  const perHostSocket = new RateLimiter(deps.hostEventLimit ?? { capacity: 300, refillPerSec: 100 }, clock);
  /** Requests being handled (settle once their ack is sent): a graceful close waits for them. */
  const inFlight = new Set<Promise<void>>();
  const joinsPerIp = new RateLimiter(deps.joinLimit ?? { capacity: 100, refillPerSec: 10 }, clock);
  const badCodesPerIp = new RateLimiter(deps.badCodeLimit ?? { capacity: 10, refillPerSec: 0.5 }, clock);
  const sessions = new KnownSessions(async (code) => (await service.store.gate(code)) !== null, clock, { storeConnected: () => service.store.isConnected() });

  io.use((socket, next) => {
    // Before the CONNECT packet goes out: it leaves in one write with the first latency probe.
    coalesceWrites(socket.conn);
    const ip = clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], deps.trustProxy ?? 0);
    const refuse = (problem: { code: string; message: string }) => {
      const err = new Error(problem.message) as Error & { data: unknown };
      err.data = problem;
      next(err);
    };
    // Code probing: an IP that keeps guessing codes is refused before any lookup.
    if (!badCodesPerIp.allows(ip)) return refuse({ code: 'RATE_LIMITED', message: 'too many wrong codes: wait a minute' });
    authenticate(socket, service, sessions, ip)
      .then((problem) => {
        if (!problem) return next();
        if (problem.code === 'NOT_FOUND') badCodesPerIp.take(ip);
        refuse(problem);
      })
      .catch((err) => {
        logger.error({ err }, 'handshake failed');
        const e = new Error('the server could not check your credentials: try again') as Error & { data: unknown };
        e.data = { code: 'UNAVAILABLE', message: e.message };
        next(e);
      });
  });

  io.on('connection', (socket) => {
    const { role, code } = socket.data;
    // Students are also in this process's `here` room: the adapter must not re-send them what the broadcaster wrote itself.
    void socket.join(role === 'host' ? rooms.host(code) : role === 'display' ? rooms.display(code) : [rooms.students(code), broadcaster.here]);
    if (socket.data.playerId) enterAsPlayer(socket, socket.data.playerId);
    // One listener per socket: every client event is a request with an ack, answered also when
    // it is outside the contract (a typo, an old client) — never leave a client waiting.
    socket.onAny((event: unknown, ...args: unknown[]) => dispatch(socket, event, args));
    socket.on('disconnect', () => {
      if (socket.data.playerId) broadcaster.removePlayerSocket(code, socket.data.playerId, socket);
    });
    void resync(socket).catch((err) => logger.warn({ err }, 'resync failed'));
    probeLatency(socket);
  });

  const handlers = makeHandlers();

  /** Rate limit, role, one payload parsed by its zod schema, then the handler; every path acks. */
  function dispatch(socket: QSocket, event: unknown, args: unknown[]): void {
    // The ack is the last argument: `emit(event, ack)` without a payload, or with extra arguments, is answered too.
    const ack = args.at(-1);
    if (typeof ack !== 'function') return; // every client event is a request with an ack
    const reply = ack as (a: Ack<unknown>) => void;
    const { role, code } = socket.data;
    if (!(role === 'host' ? perHostSocket : perSocket).take(socket.id)) {
      if (++socket.data.refusals >= REFUSALS_BEFORE_CUTOFF) {
        logger.warn({ code, ip: socket.data.ip, role }, 'socket cut off for flooding');
        socket.disconnect(true);
        return;
      }
      return reply({ ok: false, error: { code: 'RATE_LIMITED', message: 'too many requests: slow down' } });
    }
    if (typeof event !== 'string' || !Object.hasOwn(ClientPayloads, event)) return reply({ ok: false, error: { code: 'BAD_REQUEST', message: 'no such event' } });
    const known = event as ClientEvent;
    if (ALLOWED[known] !== role) return reply({ ok: false, error: { code: 'FORBIDDEN', message: `a ${role} cannot ${known}` } });
    if (args.length > 2) return reply({ ok: false, error: { code: 'BAD_REQUEST', message: 'a request carries one payload' } });
    const parsed = (ClientPayloads[known] as z.ZodType).safeParse(args.length === 2 ? args[0] : undefined);
    if (!parsed.success) return reply({ ok: false, error: { code: 'BAD_REQUEST', message: describeIssue(parsed.error) } });
    const handled = (handlers[known] as (socket: QSocket, p: unknown) => Promise<Ack<unknown>>)(socket, parsed.data)
      .then(reply)
      .catch((err: unknown) => {
        logger.error({ err, event: known, code }, 'handler failed');
        reply({ ok: false, error: isStoreUnavailable(err) ? { code: 'UNAVAILABLE', message: 'the server cannot store that right now: try again' } : { code: 'INTERNAL', message: 'something went wrong' } });
      });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  }

  function enterAsPlayer(socket: QSocket, playerId: string) {
    socket.data.playerId = playerId;
    void socket.join(rooms.player(socket.data.code, playerId));
    broadcaster.addPlayerSocket(socket.data.code, playerId, socket);
  }

  /** On (re)connect every role gets its whole projection. */
  async function resync(socket: QSocket, known?: GameState): Promise<void> {
    const view = await viewFor(socket, known);
    if (!view) return;
    if (view.role === 'student') socket.emit('student:view', view);
    else if (view.role === 'host') socket.emit('host:view', view);
    else socket.emit('display:view', view);
  }

  /** `known`: a slice of the store just loaded with this player's records (after a join). */
  async function viewFor(socket: QSocket, known?: GameState) {
    const { code, role, playerId } = socket.data;
    if (role === 'student') {
      if (!playerId) return null; // a guest has no view yet: load nothing
      // O(questions): this player's fresh records with the shared state and ranking.
      const found = await broadcaster.studentResync(code, playerId, known);
      if (found) markQuestionSent(socket, found.state, found.view?.serverNow ?? clock());
      return found?.view ?? null;
    }
    const state = await broadcaster.state(code);
    if (!state) return null;
    return role === 'host' ? broadcaster.hostViewOf(state) : broadcaster.displayViewOf(state, clock());
  }

  function markQuestionSent(socket: QSocket, state: GameState, now: number) {
    const cur = state.session.current;
    if (state.session.phase === 'open' && cur) socket.data.questionSentAt = { questionId: cur.questionId, at: now };
  }

  /** When the open question reached this socket: its own resync or this process's broadcast. */
  function sentAt(socket: QSocket, questionId: string): number {
    const own = socket.data.questionSentAt;
    const broadcast = broadcaster.questionSentAt.get(socket.data.code);
    const times = [own?.questionId === questionId ? own.at : 0, broadcast?.questionId === questionId ? broadcast.at : 0];
    return Math.max(...times);
  }

  /**
   * One handler per client event, shared by every socket (built once, not per connection: a
   * lecture hall connects thousands of sockets in seconds). Each gets the socket and its
   * payload, already parsed by the event's zod schema and authorised for the socket's role.
   */
  function makeHandlers(): { [E in ClientEvent]: (socket: QSocket, p: z.output<(typeof ClientPayloads)[E]>) => Promise<Ack<unknown>> } {
    const step = (r: Result<{ step: number }>): Ack<{ step: number }> => (r.ok ? { ok: true, data: { step: r.data.step } } : r);
    /** The commands that change the phase and broadcast to every student: counts and refreshes wait for them. */
    const host = (type: 'start' | 'next' | 'close' | 'skip' | 'reveal' | 'leaderboard' | 'pause' | 'resume' | 'end') => async (socket: QSocket, p: { step?: number | undefined }) => {
      broadcaster.phaseCommandArrived(socket.data.code);
      return step(await service.command(socket.data.code, p.step === undefined ? { type } : { type, step: p.step }));
    };
    const notJoined = { ok: false as const, error: { code: 'UNAUTHORIZED' as const, message: 'join the session first' } };
    return {
      'game:start': host('start'),
      'question:next': host('next'),
      'question:close': host('close'),
      'question:skip': host('skip'),
      'question:reveal': host('reveal'),
      'game:leaderboard': host('leaderboard'),
      'question:pause': host('pause'),
      'question:resume': host('resume'),
      'game:end': host('end'),
      'player:kick': async (socket, p) => step(await service.command(socket.data.code, { type: 'kick', playerId: p.playerId })),
      'room:lock': async (socket) => step(await service.command(socket.data.code, { type: 'lock' })),
      'room:unlock': async (socket) => step(await service.command(socket.data.code, { type: 'unlock' })),
      'spotlight:set': async (socket, p) => step(await service.command(socket.data.code, { type: 'spotlight', questionId: p.questionId, playerId: p.playerId })),
      'spotlight:clear': async (socket) => step(await service.command(socket.data.code, { type: 'spotlight-clear' })),
      'grade:list': async (socket, p) => {
        const state = await service.store.loadState(socket.data.code);
        return state ? { ok: true, data: gradingItems(state, p.questionId) } : { ok: false, error: { code: 'NOT_FOUND', message: 'no such session' } };
      },
      'grade:save': async (socket, p) => service.grade(socket.data.code, { type: 'grade', questionId: p.questionId, playerId: p.playerId, marks: p.marks, comment: p.comment, grader: 'instructor' }),
      'host:sync': async (socket) => {
        const view = await viewFor(socket);
        return view ? { ok: true, data: view } : { ok: false, error: { code: 'NOT_FOUND', message: 'no such session' } };
      },
      'display:sync': async (socket) => {
        const view = await viewFor(socket);
        return view ? { ok: true, data: view } : { ok: false, error: { code: 'NOT_FOUND', message: 'no such session' } };
      },
      'student:sync': async (socket) => {
        if (!socket.data.playerId) return notJoined;
        const view = await viewFor(socket);
        return view ? { ok: true, data: view } : { ok: false, error: { code: 'NOT_FOUND', message: 'no such session' } };
      },
      'player:names': async (socket) => {
        if (socket.data.playerId) return { ok: false, error: { code: 'BAD_PHASE', message: 'you have already joined' } };
        socket.data.offeredNames = friendlyNames(6);
        return { ok: true, data: { names: socket.data.offeredNames } };
      },
      'player:join': async (socket, p) => {
        if (socket.data.playerId) return { ok: false, error: { code: 'BAD_PHASE', message: 'you have already joined' } };
        const { code } = socket.data;
        const recordActivity = (outcome: 'admitted' | 'refused' | 'throttled') => {
          joinActivity.record(code, outcome);
          broadcaster.scheduleRefresh(code);
        };
        if (!joinsPerIp.take(socket.data.ip)) {
          recordActivity('throttled');
          return { ok: false, error: { code: 'RATE_LIMITED', message: 'too many people are joining from your network: try again in a few seconds' } };
        }
        const r = await service.join(code, p.nickname, socket.data.offeredNames);
        recordActivity(r.ok ? 'admitted' : 'refused');
        if (!r.ok) return r;
        const { slice, ...joined } = r.data;
        enterAsPlayer(socket, joined.playerId);
        void resync(socket, slice).catch(() => undefined);
        return { ok: true, data: joined };
      },
      'answer:submit': async (socket, p) => {
        const playerId = socket.data.playerId;
        if (!playerId) return notJoined;
        const r = await service.studentCommand(socket.data.code, {
          type: 'answer',
          playerId,
          questionId: p.questionId,
          answer: p.answer,
          ...(p.justification !== undefined ? { justification: p.justification } : {}),
          timing: { sentAt: sentAt(socket, p.questionId), rttMs: socket.data.rttMs },
        });
        return r.ok ? { ok: true, data: { questionId: p.questionId, receivedAt: r.data.record!.receivedAt, textVersion: r.data.record!.textVersion } } : r;
      },
      'answer:justify': async (socket, p) => {
        const playerId = socket.data.playerId;
        if (!playerId) return notJoined;
        const r = await service.studentCommand(socket.data.code, { type: 'justify', playerId, questionId: p.questionId, text: p.text, rttMs: socket.data.rttMs });
        return r.ok ? { ok: true, data: { questionId: p.questionId, receivedAt: r.data.record!.receivedAt, textVersion: r.data.record!.textVersion } } : r;
      },
      'player:consent': async (socket, p) => {
        const playerId = socket.data.playerId;
        if (!playerId) return notJoined;
        const r = await service.studentCommand(socket.data.code, { type: 'spotlight-consent', playerId, allow: p.allow });
        return r.ok ? { ok: true, data: { allow: p.allow } } : r;
      },
    };
  }

  /**
   * Round trip of this socket, for latency compensation (SC3): one `latency:ping` with an ack
   * as it connects (coalesced with the CONNECT packet), then every Engine.IO heartbeat (the
   * server's ping and the client's pong, every pingInterval) at no extra message. A probe of
   * its own every few seconds would cost a lecture hall thousands of extra round trips a
   * minute, arriving in waves (everyone joined at once) that land on the next broadcast.
   */
  function probeLatency(socket: QSocket) {
    const sample = (ms: number) => {
      socket.data.rttMs = socket.data.rttSamples === 0 ? ms : socket.data.rttMs * 0.7 + ms * 0.3;
      socket.data.rttSamples += 1;
    };
    const started = performance.now();
    socket.timeout(5000).emit('latency:ping', clock(), (err: Error | null) => {
      if (!err) sample(performance.now() - started);
    });
    let pingAt = 0;
    socket.conn.on('packetCreate', (packet: { type: string }) => {
      if (packet.type === 'ping') pingAt = performance.now();
    });
    socket.conn.on('packet', (packet: { type: string }) => {
      if (packet.type !== 'pong' || pingAt === 0) return;
      sample(performance.now() - pingAt);
      pingAt = 0;
    });
  }

  /**
   * Resolves once no request is being handled (requests that arrive meanwhile included), so
   * their acks have been sent before the sockets close; false if `timeoutMs` ran out first.
   */
  async function drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (inFlight.size > 0) {
      const left = until - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  return { io, broadcaster, drain };
}

async function authenticate(socket: QSocket, service: GameService, sessions: KnownSessions, ip: string): Promise<{ code: string; message: string } | null> {
  const parsed = HandshakeAuth.safeParse(socket.handshake.auth);
  if (!parsed.success) return { code: 'UNAUTHORIZED', message: 'missing or malformed credentials' };
  const auth = parsed.data;
  if (!(await sessions.exists(auth.code))) return { code: 'NOT_FOUND', message: 'no session with that code' };
  socket.data = { role: auth.role, code: auth.code, playerId: null, rttMs: 0, rttSamples: 0, questionSentAt: null, ip, refusals: 0, offeredNames: [] };
  if (auth.role === 'host') {
    const hash = await service.store.hostTokenHash(auth.code);
    if (!hash || !safeEqual(hash, sha256(auth.hostToken))) return { code: 'UNAUTHORIZED', message: 'this host link is not valid for that session' };
  }
  if (auth.role === 'student' && auth.token) {
    const found = await service.store.playerByToken(sha256(auth.token));
    if (!found || found.code !== auth.code) return { code: 'UNAUTHORIZED', message: 'your seat in this session is no longer valid: join again' };
    const player = await service.store.loadPlayer(auth.code, found.playerId);
    if (!player || player.kicked) return { code: 'KICKED', message: 'the instructor removed you from this session' };
    socket.data.playerId = found.playerId;
  }
  return null;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue.message}`.slice(0, 300);
}

