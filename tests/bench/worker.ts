/**
 * A load-generator process (child_process.fork): owns a share of the students and runs the
 * commands the orchestrator (runner.ts) sends over IPC. Every command is bounded in time
 * and answers with per-student facts; the orchestrator computes every figure from them.
 * The process exits when its parent goes away.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { now, sleep } from './clock.ts';
import type { AckResult } from './raw-client.ts';
import { ProbeStudent, RawStudent, type Student, type StudentSpec, type ViewInfo } from './students.ts';

export type WorkerCommand =
  | { type: 'hello' }
  | { type: 'clock' }
  | { type: 'join'; students: StudentSpec[]; kind: 'raw' | 'probe'; window: number; timeoutMs: number }
  | { type: 'answer'; questionId: string; questionIndex: number; startAt: number; spreadMs: number; timeoutMs: number }
  | { type: 'wait'; key: string; timeoutMs: number }
  | { type: 'reconnect'; window: number; timeoutMs: number }
  | { type: 'report' }
  | { type: 'poll'; everyMs: number; timeoutMs: number }
  | { type: 'reset'; timeoutMs: number }
  | { type: 'close' };

export interface JoinFact {
  idx: number;
  ok: boolean;
  code: string | null;
  startAt: number;
  connectedAt: number | null;
  joinSentAt: number | null;
  joinAckAt: number | null;
  playerId: string | null;
}

export interface AnswerFact {
  idx: number;
  playerId: string | null;
  sent: boolean;
  sentAt: number | null;
  ackAt: number | null;
  ok: boolean;
  code: string | null;
}

export interface WaitFact {
  idx: number;
  t: number | null;
  info: ViewInfo | null;
}

export interface ReconnectFact {
  idx: number;
  dropAt: number;
  connectedAt: number | null;
  resyncAt: number | null;
  ok: boolean;
  error: string | null;
  info: ViewInfo | null;
}

export interface StudentReport {
  idx: number;
  playerId: string | null;
  joined: boolean;
  connected: boolean;
  disconnects: number;
  /** When the last unexpected disconnect happened (shared clock). */
  lastDisconnectAt: number | null;
  reconnects: number;
  parseChecks: number;
  parseMismatches: number;
  lastError: string | null;
}

export interface WorkerStats {
  pid: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Event-loop delay over the command (ms): how far behind the generator was. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type WorkerReply = { id: number; ok: true; data: unknown; stats: WorkerStats } | { id: number; ok: false; error: string };

const students: Student[] = [];
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

function stats(): WorkerStats {
  const cpu = process.cpuUsage();
  const s: WorkerStats = {
    pid: process.pid,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
  loop.reset();
  return s;
}

/** Runs `task` over `items` with at most `window` in flight (a closed loop: the next starts when one ends). */
async function windowed<T, R>(items: T[], window: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window, items.length)) }, lane));
  return results;
}

async function join(cmd: Extract<WorkerCommand, { type: 'join' }>): Promise<JoinFact[]> {
  const deadline = now() + cmd.timeoutMs;
  const created = cmd.students.map((spec) => (cmd.kind === 'probe' ? new ProbeStudent(spec) : new RawStudent(spec)));
  students.push(...created);
  return windowed(created, cmd.window, async (s): Promise<JoinFact> => {
    const fact: JoinFact = { idx: s.spec.idx, ok: false, code: null, startAt: now(), connectedAt: null, joinSentAt: null, joinAckAt: null, playerId: null };
    const left = deadline - fact.startAt;
    if (left <= 0) return { ...fact, code: 'TIMEOUT' };
    try {
      await s.connect(left);
    } catch (err) {
      return { ...fact, code: `CONNECT: ${(err as Error).message.slice(0, 120)}` };
    }
    fact.connectedAt = now();
    const ack = await s.request('player:join', { nickname: s.spec.nickname }, Math.max(1, deadline - now()));
    fact.joinSentAt = ack.sentAt;
    fact.joinAckAt = ack.ackAt;
    if (!ack.ok) return { ...fact, code: ack.code };
    const data = (JSON.parse(ack.raw) as [{ data: { playerId: string; token: string } }])[0].data;
    s.playerId = data.playerId;
    s.token = data.token;
    s.joined = true;
    return { ...fact, ok: true, playerId: data.playerId };
  });
}

async function answer(cmd: Extract<WorkerCommand, { type: 'answer' }>): Promise<AnswerFact[]> {
  const golden = 0.6180339887498949;
  const plan = students
    .filter((s) => s.joined)
    // A low-discrepancy spread over the window, interleaved across workers by the global index.
    .map((s) => ({ s, at: cmd.startAt + ((s.spec.idx * golden) % 1) * cmd.spreadMs }))
    .sort((a, b) => a.at - b.at);
  const pending: Promise<AnswerFact>[] = [];
  const send = (s: Student): Promise<AnswerFact> => {
    // Four choices; choice 1 is the correct one: about a quarter answer correctly.
    const choice = (s.spec.idx + cmd.questionIndex) % 4;
    return s
      .request('answer:submit', { questionId: cmd.questionId, answer: { type: 'single', choice } }, cmd.timeoutMs)
      .then((a: AckResult) => ({ idx: s.spec.idx, playerId: s.playerId, sent: a.code !== 'CLOSED', sentAt: a.sentAt, ackAt: a.ackAt, ok: a.ok, code: a.code }));
  };
  let i = 0;
  const hardStop = cmd.startAt + cmd.spreadMs + cmd.timeoutMs;
  while (i < plan.length) {
    const t = now();
    if (t > hardStop) break;
    while (i < plan.length && plan[i]!.at <= t) pending.push(send(plan[i++]!.s));
    if (i < plan.length) await sleep(Math.max(0, Math.min(plan[i]!.at - now(), 50)));
  }
  for (; i < plan.length; i++) pending.push(Promise.resolve({ idx: plan[i]!.s.spec.idx, playerId: plan[i]!.s.playerId, sent: false, sentAt: null, ackAt: null, ok: false, code: 'NOT_SENT' }));
  return Promise.all(pending);
}

/**
 * Reading by polling, while a broadcast is measured: the event loop sleeps `everyMs` (1 ms by
 * default, `--read-poll`) on a futex, not in epoll, then takes every socket that became
 * readable in one batch.
 *
 * Woken per message, this process made the server pay for each of its 2,000 writes twice
 * over on loopback: the write wakes the reader, and Linux runs a woken reader on the writer's
 * core (a "sync" wake-up), preempting the server mid-broadcast (its main thread waited 7–24 ms
 * per broadcast for a core; a phone is not on the server's machine at all). Like a network
 * card's interrupt coalescing, polling wakes nobody per message: the wait fell to 0–9 ms and
 * the p99s by 10–16 ms (docs/performance.md, round 5). Every receipt is stamped when it is
 * read, so a latency can only grow by it, by up to `everyMs`.
 */
const futex = new Int32Array(new SharedArrayBuffer(4));
let pollUntil = 0;
let pollEveryMs = 1;
let polling = false;
function pollReads(): void {
  if (now() >= pollUntil) {
    polling = false;
    return;
  }
  Atomics.wait(futex, 0, 0, pollEveryMs);
  // A pending immediate makes libuv poll its sockets without blocking, then call this again.
  setImmediate(pollReads);
}

async function wait(cmd: Extract<WorkerCommand, { type: 'wait' }>): Promise<WaitFact[]> {
  const deadline = now() + cmd.timeoutMs;
  const live = students.filter((s) => s.joined);
  // Polling the marks costs nothing measurable (marks are recorded on receipt, not here).
  while (now() < deadline && !live.every((s) => s.marks.has(cmd.key))) await sleep(5);
  pollUntil = 0; // back to being woken per message
  return live.map((s) => ({ idx: s.spec.idx, t: s.marks.get(cmd.key) ?? null, info: s.views.get(cmd.key) ?? null }));
}

async function reconnect(cmd: Extract<WorkerCommand, { type: 'reconnect' }>): Promise<ReconnectFact[]> {
  const deadline = now() + cmd.timeoutMs;
  const live = students.filter((s) => s.joined);
  // Every connection drops at the same moment…
  const dropped = live.map((s) => {
    const seen = s.viewCount;
    s.drop();
    return { s, seen, dropAt: now() };
  });
  // …and every student comes back with its token, as fast as the server admits them.
  return windowed(dropped, cmd.window, async ({ s, seen, dropAt }): Promise<ReconnectFact> => {
    const fact: ReconnectFact = { idx: s.spec.idx, dropAt, connectedAt: null, resyncAt: null, ok: false, error: null, info: null };
    const resync = s.nextView(seen, Math.max(1, deadline - now()));
    try {
      await s.connect(Math.max(1, deadline - now()));
    } catch (err) {
      return { ...fact, error: (err as Error).message.slice(0, 160) };
    }
    fact.connectedAt = now();
    const view = await resync;
    if (!view) return { ...fact, error: 'no resync view' };
    return { ...fact, ok: true, resyncAt: view.t, info: view.info };
  });
}

function report(): StudentReport[] {
  return students.map((s) => ({
    idx: s.spec.idx,
    playerId: s.playerId,
    joined: s.joined,
    connected: s.connected,
    disconnects: s.disconnects,
    lastDisconnectAt: s.lastDisconnectAt,
    reconnects: s.reconnects,
    parseChecks: s.parseChecks,
    parseMismatches: s.parseMismatches,
    lastError: s.lastError,
  }));
}

/** Every student leaves cleanly (`41`, then the close handshake) and is forgotten; returns them. */
function leaveAll(): Student[] {
  const leaving = students.splice(0);
  pollUntil = 0;
  for (const s of leaving) s.close();
  return leaving;
}

/**
 * Leaves every student cleanly and forgets them, keeping the process (and the code V8 has
 * optimised in it) for the next run: the warm-up's generator becomes the measured run's
 * (runner.ts, `GeneratorPool`). Resolves once every connection is closed, or at the timeout.
 */
async function reset(cmd: Extract<WorkerCommand, { type: 'reset' }>): Promise<{ left: number; stillConnected: number }> {
  const leaving = leaveAll();
  const deadline = now() + cmd.timeoutMs;
  while (now() < deadline && leaving.some((s) => s.connected)) await sleep(5);
  return { left: leaving.length, stillConnected: leaving.filter((s) => s.connected).length };
}

async function handle(cmd: WorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'hello':
      return { pid: process.pid };
    case 'clock':
      return { t: now() };
    case 'join':
      return join(cmd);
    case 'answer':
      return answer(cmd);
    case 'wait':
      return wait(cmd);
    case 'reconnect':
      return reconnect(cmd);
    case 'report':
      return report();
    case 'poll':
      pollEveryMs = cmd.everyMs;
      pollUntil = now() + cmd.timeoutMs;
      if (!polling) {
        polling = true;
        setImmediate(pollReads);
      }
      return null;
    case 'reset':
      return reset(cmd);
    case 'close':
      leaveAll();
      setTimeout(() => process.exit(0), 200).unref();
      return null;
  }
}

process.on('message', (msg: { id: number; cmd: WorkerCommand }) => {
  handle(msg.cmd).then(
    (data) => process.send?.({ id: msg.id, ok: true, data, stats: stats() } satisfies WorkerReply),
    (err: unknown) => process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
  );
});
// Never outlive the orchestrator.
process.on('disconnect', () => process.exit(0));
// Exiting (not dying) on SIGTERM lets `--cpu-prof` (BENCH_WORKER_PROF) write its profile.
process.on('SIGTERM', () => process.exit(0));
