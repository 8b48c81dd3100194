/**
 * The bench orchestrator: starts redis-server and the server process(es) (or uses --url),
 * creates the sessions over HTTP, drives one host and one display per room with real
 * socket.io-clients, spreads the students over generator worker processes, runs the
 * scenarios and computes every figure from the facts the workers send back.
 *
 * Scenarios, in one game per room (all rooms at once):
 *   join storm → for each question: fan-out, answer burst, [reconnect storm on question 2],
 *   close, reveal, leaderboard → end → results export (lost / double-counted) → broadcast cost.
 */
import { loadBundledBanks } from '@quizroom/question-bank';
import { Bank, type DisplayView, type Question } from '@quizroom/shared';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { now, sleep, withTimeout } from './clock.ts';
import {
  BENCH_DIR,
  BENCH_PASSWORD,
  PROFILE_DIR,
  REPO_ROOT,
  TSX_LOADER,
  WorkerHandle,
  findRedisPid,
  spawnServer,
  spawnTracked,
  stopChild,
  type ServerProc,
} from './infra.ts';
import { machineTimes, sampleProc, waitQuiet, type ProcSample } from './procstat.ts';
import { round, summarize, type Summary } from './stats.ts';
import type { StudentSpec, ViewInfo } from './students.ts';
import type { AnswerFact, JoinFact, ReconnectFact, StudentReport, WaitFact } from './worker.ts';
import type { CostResult } from './broadcast-cost.ts';

// ------------------------------------------------------------------ options and results

export interface BenchOptions {
  /** Students in one room (ignored when rooms > 1: then rooms × perRoom). */
  players: number;
  rooms: number;
  perRoom: number;
  store: 'memory' | 'redis';
  /** Server processes (2 = two processes on one Redis, Redis adapter). */
  processes: number;
  questions: number;
  /**
   * What the session holds besides the questions played: 'course' appends the bundled review
   * bank (the lesson's 77 questions, ~90 KB of JSON: what a session created from it carries,
   * and what the store reads for every answer), 'bench' holds only the questions played.
   */
  bank: 'course' | 'bench';
  /** Use a running server instead of starting one (http://127.0.0.1:PORT). */
  url: string | null;
  /** The instructor password of that server (default: the bench's own). */
  password: string;
  /** Its pid, if you want its CPU and RSS read from /proc. */
  serverPid: number | null;
  /** Generator worker processes for the raw students (0 = auto: 1 up to 1,000 students, else 2). */
  workers: number;
  /** Real socket.io-client students, measured the same way and reported separately. */
  probes: number;
  /** Students in the middle of connecting/joining at once, over all workers (join and reconnect storms). */
  joinWindow: number;
  /** The answer burst is spread over this many ms. */
  answerSpreadMs: number;
  /**
   * Pause before each host command and each answer burst, like an instructor between clicks:
   * the server finishes the previous phase's tail work (host/display refreshes, Redis adapter
   * traffic) instead of it landing in the next measurement.
   */
  thinkMs: number;
  reconnect: boolean;
  /**
   * While a broadcast is measured (host command → every student has it), the raw students'
   * workers read their sockets every this many ms instead of being woken by each message
   * (worker.ts, `poll`); 0 = woken per message, as before round 5.
   */
  readPollMs: number;
  /** Pass --cpu-prof to the server processes (profiles in /tmp/qr-prof). */
  profile: boolean;
  /** Record the server processes with Linux perf into this file (`.N` added for the second process on); null = no. */
  perf: string | null;
  /** Keep the server's per-IP join limit (every bench student shares 127.0.0.1: it throttles the join storm). */
  keepJoinLimit: boolean;
  /** Longest wait of any phase (0 = 30 s + 20 ms per student). */
  phaseTimeoutMs: number;
  /** Before starting, wait up to this long for the machine to be quiet (other jobs spoil the figures). */
  waitQuietMs: number;
  /**
   * Before the measured run, this many students (one room, one question, no reconnect storm)
   * play on each server process the bench started, so that the measured run meets code V8 has
   * already optimised, as on a server that has run earlier sessions (-1 = min(students, 1,000);
   * 0 = measure a cold process). Its join storm is reported as the cold one.
   */
  warmup: number;
  /**
   * Generator processes to take students from and hand back, instead of starting and closing
   * its own (internal: the warm-up lends its processes to the measured run, see GeneratorPool).
   */
  generator: GeneratorPool | null;
  /** K of the broadcast-cost micro-benchmark (0 = skip). */
  broadcastK: number;
  broadcastRounds: number;
  log: (line: string) => void;
}

export const defaultOptions: BenchOptions = {
  players: 100,
  rooms: 1,
  perRoom: 30,
  store: 'redis',
  processes: 1,
  questions: 3,
  bank: 'course',
  url: null,
  password: BENCH_PASSWORD,
  serverPid: null,
  workers: 0,
  probes: 5,
  joinWindow: 256,
  answerSpreadMs: 1000,
  thinkMs: 1000,
  reconnect: true,
  readPollMs: 1,
  profile: false,
  perf: null,
  keepJoinLimit: false,
  waitQuietMs: 0,
  phaseTimeoutMs: 0,
  warmup: -1,
  generator: null,
  broadcastK: 0,
  broadcastRounds: 30,
  log: () => undefined,
};

export interface Latency {
  /** The host's command was acked after this long (ms; the slowest room): the server finished the command, broadcast included. */
  hostAckMs: number | null;
  /** Raw students (ms). */
  raw: Summary;
  /** socket.io-client probes (ms). */
  probes: Summary;
  /** Students that never got it within the phase timeout. */
  missing: number;
}

export interface PhaseResources {
  phase: string;
  /** On the shared clock (CLOCK_MONOTONIC, ms): the window of the phase, e.g. to cut a CPU profile. */
  startMs: number;
  endMs: number;
  wallMs: number;
  /** sysMs: the kernel's share of cpuMs; readCalls / writeCalls: system calls in the phase (null where /proc/PID/io is unreadable). */
  servers: { pid: number; cpuMs: number; sysMs: number; mainThreadMs: number | null; mainThreadWaitMs?: number | null; rssKb: number; readCalls: number | null; writeCalls: number | null }[];
  redis: { cpuMs: number; rssKb: number } | null;
  /** Generator: workers' CPU (from /proc) + this process's own. */
  generatorCpuMs: number;
  workers: { pid: number; cpuMs: number; loopDelayP99Ms: number | null }[];
  orchestratorCpuMs: number;
  /** CPU used on the machine by anything but the bench's own processes (other jobs: noise). */
  otherCpuMs: number;
  /** CPU time the hypervisor gave this VM's cores to other guests during the phase (/proc/stat steal; 10-ms ticks). */
  stealMs?: number;
}

export interface QuestionResult {
  index: number;
  questionId: string;
  step: number;
  fanout: Latency;
  answers: {
    sent: number;
    acked: number;
    refused: Record<string, number>;
    unacked: number;
    ack: Summary;
    probeAck: Summary;
    /** First send → last ack (ms). */
    burstMs: number | null;
    /** Per 100 ms of send time: answers sent, and their ack latency (shows queueing in the server). */
    timeline: { atMs: number; sent: number; ackP50: number | null; ackMax: number | null }[];
  };
  close: Latency;
  reveal: Latency & { rankMissing: number; resultWrong: number; notOwnView: number };
  leaderboard: Latency & { displayMs: number[]; displayTop: number[] };
  /** The display's answered count at close, per room, vs the answers acked in that room. */
  displayAnswered: { room: number; shown: number | null; acked: number }[];
}

/** The warm-up run on one server process: what its (cold) join storm cost. */
export interface WarmupResult {
  students: number;
  admitted: number;
  admittedMs: number | null;
  serverCpuMs: number | null;
  serverMainThreadMs: number | null;
  /** Its generator processes (the measured run reuses them: GeneratorPool). */
  generatorPids: number[];
  /** What went wrong in it (lost answers, disconnects, errors: smokeProblems); the measured run counts them too. */
  problems: string[];
}

export interface BenchResult {
  label: string;
  /** One entry per server process the bench started and warmed (empty: measured cold, or --url). */
  warmup: WarmupResult[];
  startedAt: string;
  options: Omit<BenchOptions, 'log' | 'password' | 'generator'>;
  machine: { cpus: number; cpuModel: string; memTotalGiB: number; node: string; kernel: string; loadAvgAtStart: number[] };
  /** CPU used by other jobs on the machine during the run, and how long the bench waited for quiet first. */
  noise: { otherCpuMs: number; otherCores: number; waitedForQuietMs: number; busyCoresAtStart: number | null; stealMs?: number };
  store: string;
  servers: { pid: number | null; url: string }[];
  workers: { pid: number; students: number; kind: 'raw' | 'probe'; clockOffsetMs: number; clockRttMs: number }[];
  rooms: number;
  students: number;
  join: {
    attempted: number;
    admitted: number;
    failed: Record<string, number>;
    timeToAllAdmittedMs: number | null;
    connect: Summary;
    joinAck: Summary;
    admit: Summary;
    probeJoinAck: Summary;
  };
  questions: QuestionResult[];
  reconnect: {
    dropped: number;
    back: number;
    failed: Record<string, number>;
    samePlayer: number;
    answerKept: number;
    answerExpected: number;
    timeToAllResyncedMs: number | null;
    resync: Summary;
    probeResync: Summary;
  } | null;
  end: Latency;
  integrity: {
    sent: number;
    acked: number;
    stored: number;
    lost: number;
    doubleCounted: number;
    /** Stored although the ack never came (timeout / connection lost): not lost, but unknown to the student. */
    storedUnacked: number;
    refused: number;
    unacked: number;
    playersAdmitted: number;
    playersExported: number;
    phantomPlayers: number;
    missingPlayers: number;
    displayAnsweredMismatch: number;
  };
  disconnects: { total: number; raw: number; probes: number; recovered: number; notConnectedAtEnd: number; samples: string[]; byPhase: Record<string, number> };
  parseChecks: { checked: number; mismatches: number };
  resources: {
    phases: PhaseResources[];
    /** RSS growth per student from the fresh process to right after the join storm (no GC forced). */
    rssPerStudentKb: number | null;
    /** Live heap per student at the end of the game (after full GCs): students with their answers. */
    heapPerStudentKb: number | null;
    /** RSS growth per student at the end of the game (after the reconnect storm, full GCs): pages V8 and malloc kept. */
    rssPerStudentAfterGameKb?: number | null;
    serverRssAfterJoinKb: number[];
    serverPeakRssKb: number[];
    /** CPU of each server process and of redis-server during the measured run (from after start-up and the warm-up to the end). */
    serverCpuTotalMs: number[];
    generatorCpuTotalMs: number;
    redisCpuTotalMs: number | null;
  };
  broadcastCost: CostResult | null;
  bars: { name: string; target: string; value: string; pass: boolean | null }[];
  error: string | null;
  wallMs: number;
}

// ------------------------------------------------------------------ helpers

/** The longest a bank allows: the deadline never closes a question in the middle of a slow phase. */
const QUESTION_SECONDS = 900;

/**
 * Nicknames the profanity filter can never refuse: digits read as letters there ("s2455"
 * is "ssass"), so the index is written with consonants only.
 */
export function benchNickname(idx: number, probe: boolean): string {
  const alphabet = 'bcdfghjkmnpqrvwxz';
  let n = idx;
  let code = '';
  do {
    code = alphabet[n % alphabet.length] + code;
    n = Math.floor(n / alphabet.length);
  } while (n > 0);
  return `${probe ? 'probe' : 'student'} ${code}`;
}

/**
 * A bank of single-choice questions of QUESTION_SECONDS (the deadline never interferes);
 * choice 1 is correct. With `unplayed`, those questions follow (the game ends before them).
 */
export function benchBank(questions: number, unplayed: readonly Question[] = []): Bank {
  const source = { file: 'bench', section: 'bench' };
  return Bank.parse({
    id: 'bench-bank',
    title: 'Bench bank',
    description: 'Generated by tests/bench for load tests',
    language: 'en',
    questions: [
      ...Array.from({ length: questions }, (_, i) => ({
        id: `q${i + 1}`,
        type: 'single',
        prompt: `Bench question ${i + 1}: which of these shares the host kernel?`,
        timeLimit: QUESTION_SECONDS,
        explanation: 'Containers share the host kernel; virtual machines each run their own.',
        source,
        choices: [{ text: 'A virtual machine' }, { text: 'A container', correct: true }, { text: 'An emulator' }, { text: 'A unikernel' }],
      })),
      ...unplayed,
    ],
  });
}

/** The bundled review bank's questions: a session of the lesson's real size (`bank: 'course'`). */
export function courseQuestions(): Question[] {
  const review = loadBundledBanks().find((b) => b.id === 'vm-containers-review');
  if (!review) throw new Error('the bundled review bank (vm-containers-review) is missing');
  return review.questions;
}

function loopbackOnly(url: string): string {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`--url must be on 127.0.0.1 (got ${u.hostname})`);
  return `http://127.0.0.1:${u.port}`;
}

async function login(url: string, password: string): Promise<string> {
  const res = await withTimeout(
    fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) }),
    10_000,
    'login',
  );
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function createSession(url: string, cookie: string, bank: Bank): Promise<{ code: string; hostToken: string }> {
  const body = { upload: { filename: `${bank.id}.json`, content: JSON.stringify(bank) }, options: { maxPlayers: 20000 } };
  const res = await withTimeout(
    fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) }),
    10_000,
    'session creation',
  );
  const json = (await res.json()) as { code: string; hostToken: string };
  if (res.status !== 201) throw new Error(`create session failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface ExportRow {
  playerId: string;
  questionId: string;
  answered: boolean;
}
async function exportResults(url: string, cookie: string, code: string): Promise<{ players: { playerId: string }[]; rows: ExportRow[] }> {
  const res = await withTimeout(fetch(`${url}/api/sessions/${code}/results.json`, { headers: { cookie } }), 60_000, 'results export');
  if (!res.ok) throw new Error(`results export failed: ${res.status}`);
  return (await res.json()) as { players: { playerId: string }[]; rows: ExportRow[] };
}

interface RoomCtl {
  index: number;
  code: string;
  hostToken: string;
  host: Socket;
  display: Socket;
  /** First display:view per `phase:step`. */
  displayViews: Map<string, { t: number; leaderboard: number | null; answered: number | null; playerCount: number }>;
}

function connectSio(url: string, auth: Record<string, unknown>, timeoutMs: number): Promise<Socket> {
  const socket = ioClient(url, { auth, transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, forceNew: true });
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (err) => reject(err));
    }),
    timeoutMs,
    'a host/display connection',
  ).catch((err) => {
    socket.disconnect();
    throw err;
  });
}

interface HostAck {
  sentAt: number;
  ackAt: number;
  step: number;
}
function hostCommand(room: RoomCtl, event: string, timeoutMs: number): Promise<HostAck> {
  const sentAt = now();
  return withTimeout(
    new Promise<HostAck>((resolve, reject) => {
      room.host.emit(event, {}, (ack: { ok: boolean; data?: { step: number }; error?: { code: string; message: string } }) => {
        const ackAt = now();
        if (ack.ok) resolve({ sentAt, ackAt, step: ack.data!.step });
        else reject(new Error(`host ${event} in room ${room.index}: ${ack.error?.code} ${ack.error?.message}`));
      });
    }),
    timeoutMs,
    `host ${event} ack`,
  );
}

function count<T>(xs: T[], key: (x: T) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = key(x);
    if (k !== null) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function machine(): BenchResult['machine'] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memTotalGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
  };
}

export function describeRun(o: Pick<BenchOptions, 'players' | 'rooms' | 'perRoom' | 'store' | 'processes' | 'url'>): string {
  const who = o.rooms > 1 ? `${o.rooms}×${o.perRoom} students` : `N=${o.players}`;
  return `${who}, ${o.url ? `server at ${o.url}` : `${o.store} store, ${o.processes} server process${o.processes > 1 ? 'es' : ''}`}`;
}

// ------------------------------------------------------------------ the run

const RAW_STUDENTS_PER_WORKER = 2500;

/**
 * Generator worker processes handed from the warm-up to the measured run. A fresh process
 * runs its first joins, reads and view checks in V8's unoptimised tiers and compiles them on
 * the same two cores as the server: the measured run's first storm and first reveal cost the
 * generator up to twice the CPU of the later ones, and the server waited for a core
 * meanwhile (docs/performance.md, round 6). Reused, the generator is as warm as the server.
 */
export interface GeneratorPool {
  raw: WorkerHandle[];
  probe: WorkerHandle | null;
}

/** Default warm-up: a lecture hall's worth of joins, answers and views, after which V8 has optimised the hot paths (docs/performance.md, "Warm-up"). */
const WARMUP_STUDENTS = 1000;

/** A short game on a running server process, so that the measured run does not pay for V8's first compilations. */
async function warmUp(o: BenchOptions, url: string, serverPid: number | null, students: number, generator: GeneratorPool, workers: number): Promise<WarmupResult> {
  o.log(`warm-up: ${students} students, one question, on ${url}…`);
  const r = await runBench({
    ...o,
    url,
    serverPid,
    players: students,
    rooms: 1,
    processes: 1,
    questions: 1,
    reconnect: false,
    probes: Math.min(o.probes, 2),
    waitQuietMs: 0,
    broadcastK: 0,
    warmup: 0,
    generator,
    workers,
    profile: false,
    perf: null,
    log: (line) => o.log(`  warm-up: ${line}`),
  });
  const join = r.resources.phases.find((p) => p.phase === 'join')?.servers[0];
  o.log(`  warm-up: ${r.join.admitted}/${students} admitted in ${r.join.timeToAllAdmittedMs ?? '–'} ms (cold)`);
  return {
    students,
    admitted: r.join.admitted,
    admittedMs: r.join.timeToAllAdmittedMs,
    serverCpuMs: join?.cpuMs ?? null,
    serverMainThreadMs: join?.mainThreadMs ?? null,
    generatorPids: r.workers.map((w) => w.pid),
    problems: smokeProblems(r),
  };
}

export async function runBench(partial: Partial<BenchOptions> = {}): Promise<BenchResult> {
  const o: BenchOptions = { ...defaultOptions, ...partial };
  if (o.processes > 1 && o.store === 'memory' && !o.url) throw new Error('two server processes need the Redis store (--store redis)');
  if (o.processes < 1 || o.processes > 4) throw new Error('--processes is 1–4');
  if (o.rooms > 1 && o.perRoom < 1) throw new Error('--per-room must be ≥ 1');
  const students = o.rooms > 1 ? o.rooms * o.perRoom : o.players;
  const perRoom = o.rooms > 1 ? o.perRoom : o.players;
  if (students < 1) throw new Error('need at least one student');
  if (o.questions < 1 || o.questions > 20) throw new Error('--questions is 1–20');
  const probes = Math.min(o.probes, students);
  // One worker process per RAW_STUDENTS_PER_WORKER: with mini-websocket.ts one worker keeps up
  // with 2,500 students (event-loop delay p99 < 30 ms in the storms, < 12 ms elsewhere), and
  // every extra process on two cores is one more runnable process preempting the server.
  const workerCount = o.workers > 0 ? o.workers : Math.max(1, Math.ceil((students - probes) / RAW_STUDENTS_PER_WORKER));
  const log = o.log;
  const t0 = now();
  // Every phase waits at most this long (it grows with the room).
  const phaseTimeout = o.phaseTimeoutMs > 0 ? o.phaseTimeoutMs : 30_000 + students * 20;

  const { log: _log, password: _pw, generator: _gen, ...shownOptions } = o;
  const result: BenchResult = {
    label: describeRun(o),
    warmup: [],
    startedAt: new Date().toISOString(),
    options: shownOptions,
    machine: machine(),
    noise: { otherCpuMs: 0, otherCores: 0, waitedForQuietMs: 0, busyCoresAtStart: null },
    store: o.url ? 'unknown' : o.store,
    servers: [],
    workers: [],
    rooms: o.rooms,
    students,
    join: { attempted: 0, admitted: 0, failed: {}, timeToAllAdmittedMs: null, connect: summarize([]), joinAck: summarize([]), admit: summarize([]), probeJoinAck: summarize([]) },
    questions: [],
    reconnect: null,
    end: { hostAckMs: null, raw: summarize([]), probes: summarize([]), missing: 0 },
    integrity: {
      sent: 0, acked: 0, stored: 0, lost: 0, doubleCounted: 0, storedUnacked: 0, refused: 0, unacked: 0,
      playersAdmitted: 0, playersExported: 0, phantomPlayers: 0, missingPlayers: 0, displayAnsweredMismatch: 0,
    },
    disconnects: { total: 0, raw: 0, probes: 0, recovered: 0, notConnectedAtEnd: 0, samples: [], byPhase: {} },
    parseChecks: { checked: 0, mismatches: 0 },
    resources: {
      phases: [], rssPerStudentKb: null, heapPerStudentKb: null, serverRssAfterJoinKb: [], serverPeakRssKb: [], serverCpuTotalMs: [],
      generatorCpuTotalMs: 0, redisCpuTotalMs: null,
    },
    broadcastCost: null,
    bars: [],
    error: null,
    wallMs: 0,
  };

  let redis: RunningRedis | null = null;
  let redisPid: number | null = null;
  /** CPU already used when the measured run starts (start-up, warm-up): not counted in the totals. */
  let cpuAtStart = { servers: [] as number[], redis: 0 };
  const servers: ServerProc[] = [];
  const workers: WorkerHandle[] = [];
  const rooms: RoomCtl[] = [];
  let probeWorker: WorkerHandle | null = null;
  /** Where this run's generator processes come from: lent by the caller, or the warm-up's (then closed here). */
  const pool: GeneratorPool = o.generator ?? { raw: [], probe: null };

  try {
    // ---------------------------------------------------------------- setup
    if (o.waitQuietMs > 0) {
      log('waiting for the machine to be quiet…');
      const q = await waitQuiet(o.waitQuietMs);
      result.noise.waitedForQuietMs = q.waitedMs;
      result.noise.busyCoresAtStart = q.busyCores;
      log(`  busy cores ${q.busyCores} after ${Math.round(q.waitedMs / 1000)} s`);
    }
    let urls: string[];
    let serverPids: (number | null)[];
    /** RSS of each server process the bench can read (KB; null: not readable, e.g. --url without --server-pid). */
    const serverRssKb = () => serverPids.map((pid) => (pid ? sampleProc(pid)?.rssKb ?? null : null));
    let rssBaseline: (number | null)[] | null = null;
    if (o.url) {
      urls = [loopbackOnly(o.url)];
      serverPids = [o.serverPid];
      const health = await withTimeout(fetch(`${urls[0]}/healthz`), 10_000, 'healthz');
      result.store = ((await health.json()) as { store?: string }).store ?? 'unknown';
    } else {
      if (o.store === 'redis') {
        log('starting redis-server…');
        redis = await startRedisServer();
        redisPid = findRedisPid(redis.port);
        // On SIGINT the finally below never runs: the server is killed by its own exit hook, its data dir here.
        const dir = redis.dir;
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      }
      log(`starting ${o.processes} server process${o.processes > 1 ? 'es' : ''} (${o.store})…`);
      for (let i = 0; i < o.processes; i++) servers.push(await spawnServer({ password: o.password, profile: o.profile, ...(o.perf ? { perf: i ? `${o.perf}.${i}` : o.perf } : {}), keepJoinLimit: o.keepJoinLimit, ...(redis ? { redisUrl: redis.url } : {}) }));
      urls = servers.map((s) => s.url);
      serverPids = servers.map((s) => s.pid);
      result.store = servers[0]!.store;
      const warm = o.warmup < 0 ? Math.min(students, WARMUP_STUDENTS) : o.warmup;
      if (warm > 0) {
        // RSS per student is counted from the fresh process: whatever the warm-up left is charged to the students too.
        await Promise.all(servers.map((s) => s.memory(true)));
        rssBaseline = serverRssKb();
        for (const [i, url] of urls.entries()) result.warmup.push(await warmUp(o, url, serverPids[i] ?? null, warm, pool, workerCount));
      }
      cpuAtStart = { servers: servers.map((s) => sampleProc(s.pid)?.cpuMs ?? 0), redis: redisPid ? sampleProc(redisPid)?.cpuMs ?? 0 : 0 };
    }
    result.servers = urls.map((url, i) => ({ url, pid: serverPids[i] ?? null }));

    const cookie = await login(urls[0]!, o.password);
    const bank = benchBank(o.questions, o.bank === 'course' ? courseQuestions() : []);
    log(`creating ${o.rooms} session${o.rooms > 1 ? 's' : ''} and connecting host${o.rooms > 1 ? 's' : ''} and display${o.rooms > 1 ? 's' : ''}…`);
    for (let r = 0; r < o.rooms; r++) {
      const { code, hostToken } = await createSession(urls[0]!, cookie, bank);
      const host = await connectSio(urls[0]!, { role: 'host', code, hostToken }, 10_000);
      const display = await connectSio(urls[0]!, { role: 'display', code }, 10_000);
      const room: RoomCtl = { index: r, code, hostToken, host, display, displayViews: new Map() };
      display.on('display:view', (v: DisplayView) => {
        const key = `${v.phase}:${v.step}`;
        if (!room.displayViews.has(key))
          room.displayViews.set(key, { t: now(), leaderboard: v.leaderboard?.length ?? null, answered: v.distribution?.answered ?? null, playerCount: v.playerCount });
      });
      rooms.push(room);
    }

    // Students: global index → room, server, worker. Probes are spread evenly over the indices.
    const probeIdx = new Set(Array.from({ length: probes }, (_, k) => Math.floor(((k + 0.5) * students) / probes)));
    const specs: StudentSpec[] = Array.from({ length: students }, (_, idx) => ({
      idx,
      room: Math.floor(idx / perRoom),
      url: urls[idx % urls.length]!,
      code: rooms[Math.floor(idx / perRoom)]!.code,
      nickname: benchNickname(idx, probeIdx.has(idx)),
    }));
    const rawSpecs = specs.filter((s) => !probeIdx.has(s.idx));
    const probeSpecs = specs.filter((s) => probeIdx.has(s.idx));
    const roomOf = (idx: number) => specs[idx]!.room;
    const isProbe = (idx: number) => probeIdx.has(idx);

    const reused = pool.raw.length + (pool.probe ? 1 : 0);
    log(`${reused ? `reusing ${reused} warm generator process${reused > 1 ? 'es' : ''}; ` : ''}${workerCount} generator worker${workerCount > 1 ? 's' : ''}${probes ? ' and a probe worker' : ''}…`);
    const shares: StudentSpec[][] = Array.from({ length: workerCount }, () => []);
    rawSpecs.forEach((s, i) => shares[i % workerCount]!.push(s));
    for (let w = 0; w < workerCount; w++) workers.push(pool.raw.shift() ?? new WorkerHandle(`raw${w}`));
    if (probes) probeWorker = pool.probe ?? new WorkerHandle('probe');
    if (probeWorker) pool.probe = null;
    const all = probeWorker ? [...workers, probeWorker] : [...workers];
    await Promise.all(all.map((w) => w.call({ type: 'hello' }, 60_000)));
    for (const [i, w] of all.entries()) {
      const off = await w.clockOffset();
      result.workers.push({ pid: w.pid, students: w === probeWorker ? probeSpecs.length : shares[i]!.length, kind: w === probeWorker ? 'probe' : 'raw', clockOffsetMs: round(off.offsetMs, 3), clockRttMs: round(off.rttMs, 3) });
    }

    // Resource accounting per phase, from /proc.
    const cpuTotals = { generator: 0 };
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const sample = () => ({
        servers: serverPids.map((pid) => (pid ? sampleProc(pid) : null)),
        redis: redisPid ? sampleProc(redisPid) : null,
        workers: all.map((w) => sampleProc(w.pid)),
        main: process.cpuUsage(),
        machine: machineTimes(),
        t: now(),
      });
      const a = sample();
      try {
        return await fn();
      } finally {
        const b = sample();
        const d = (x: ProcSample | null, y: ProcSample | null) => (x && y ? y.cpuMs - x.cpuMs : 0);
        const mainMs = (b.main.user + b.main.system - a.main.user - a.main.system) / 1000;
        const workerRows = all.map((w, i) => ({ pid: w.pid, cpuMs: d(a.workers[i]!, b.workers[i]!), loopDelayP99Ms: w.lastStats ? round(w.lastStats.loopDelayP99Ms, 1) : null }));
        const gen = workerRows.reduce((s, w) => s + w.cpuMs, 0) + mainMs;
        cpuTotals.generator += gen;
        const ours = gen + serverPids.reduce<number>((sum, _, i) => sum + d(a.servers[i] ?? null, b.servers[i] ?? null), 0) + d(a.redis, b.redis);
        result.resources.phases.push({
          phase: name,
          startMs: round(a.t, 3),
          endMs: round(b.t, 3),
          wallMs: round(b.t - a.t),
          servers: serverPids.flatMap((pid, i) => {
            const [x, y] = [a.servers[i], b.servers[i]];
            if (!pid || !x || !y) return [];
            // Counters /proc may not give (null): their growth over the phase, or null.
            const grown = (f: 'readCalls' | 'writeCalls' | 'mainThreadMs' | 'mainThreadWaitMs') => (x[f] !== null && y[f] !== null ? round(y[f] - x[f]) : null);
            return [
              {
                pid,
                cpuMs: round(d(x, y)),
                sysMs: round(y.sysMs - x.sysMs),
                mainThreadMs: grown('mainThreadMs'),
                mainThreadWaitMs: grown('mainThreadWaitMs'),
                rssKb: y.rssKb,
                readCalls: grown('readCalls'),
                writeCalls: grown('writeCalls'),
              },
            ];
          }),
          redis: b.redis ? { cpuMs: round(d(a.redis, b.redis)), rssKb: b.redis.rssKb } : null,
          generatorCpuMs: round(gen),
          workers: workerRows,
          orchestratorCpuMs: round(mainMs),
          otherCpuMs: round(Math.max(0, b.machine.busyMs - a.machine.busyMs - ours)),
          stealMs: round(b.machine.stealMs - a.machine.stealMs),
        });
      }
    };
    /** Two full GCs apart, so that what the first freed has been given back before RSS is read. */
    const serverMem = async () => {
      await Promise.all(servers.map((s) => s.memory(true)));
      await sleep(300);
      return Promise.all(servers.map((s) => s.memory(true)));
    };

    // ---------------------------------------------------------------- join storm
    const memBefore = servers.length ? await serverMem() : [];
    const rssBefore = rssBaseline ?? serverRssKb();
    log(`join storm: ${students} students…`);
    const joinFacts = await phase('join', async () => {
      const perWorker = Math.max(1, Math.ceil(o.joinWindow / workerCount));
      const calls = workers.map((w, i) => w.call<JoinFact[]>({ type: 'join', students: shares[i]!, kind: 'raw', window: perWorker, timeoutMs: phaseTimeout }, phaseTimeout + 30_000));
      if (probeWorker) calls.push(probeWorker.call<JoinFact[]>({ type: 'join', students: probeSpecs, kind: 'probe', window: probes, timeoutMs: phaseTimeout }, phaseTimeout + 30_000));
      return (await Promise.all(calls)).flat();
    });
    const admitted = joinFacts.filter((f) => f.ok);
    const admittedIds = new Map(admitted.map((f) => [f.idx, f.playerId!]));
    const rawJoin = joinFacts.filter((f) => !isProbe(f.idx));
    result.join = {
      attempted: joinFacts.length,
      admitted: admitted.length,
      failed: count(joinFacts, (f) => (f.ok ? null : f.code ?? 'UNKNOWN')),
      timeToAllAdmittedMs: admitted.length ? round(Math.max(...admitted.map((f) => f.joinAckAt!)) - Math.min(...joinFacts.map((f) => f.startAt))) : null,
      connect: summarize(rawJoin.filter((f) => f.connectedAt !== null).map((f) => f.connectedAt! - f.startAt)),
      joinAck: summarize(rawJoin.filter((f) => f.ok).map((f) => f.joinAckAt! - f.joinSentAt!)),
      admit: summarize(rawJoin.filter((f) => f.ok).map((f) => f.joinAckAt! - f.startAt)),
      probeJoinAck: summarize(joinFacts.filter((f) => f.ok && isProbe(f.idx)).map((f) => f.joinAckAt! - f.joinSentAt!)),
    };
    log(`  admitted ${admitted.length}/${students} in ${result.join.timeToAllAdmittedMs} ms`);
    if (admitted.length === 0) throw new Error(`nobody could join: ${JSON.stringify(result.join.failed)}`);

    /**
     * RSS per connected student: read right after the join storm, without forcing a GC. Until
     * round 7 the bench forced two full GCs here first; they moved RSS by 0.4–1.4 KB per student
     * (V8 keeps its committed pages), but killed what V8's optimised code had embedded (the
     * warm-up's dead objects) and left sweeping to the helper threads, which landed on the
     * first question's fan-out and reveal — a cost no server in a classroom pays
     * (docs/performance.md, round 7). The live heap per student is read after the game
     * (`memoryAfterGame`), with full GCs, once nothing is measured any more.
     */
    const perProcess = students / Math.max(1, servers.length);
    // Below ~1,500 students per process the RSS delta drowns in allocator and GC noise (and in
    // what V8 gives back of the fresh process's start-up heap: −2 to +14 KB at 1,000).
    const rssGrowthPerStudentKb = (rss: (number | null)[]) =>
      servers.length && perProcess >= 1500 ? round(Math.max(...rss.map((x, i) => (x ?? 0) - (rssBefore[i] ?? 0))) / perProcess, 1) : null;
    const rssAfterJoin = serverRssKb();
    result.resources.serverRssAfterJoinKb = rssAfterJoin.map((x) => x ?? 0);
    result.resources.rssPerStudentKb = rssGrowthPerStudentKb(rssAfterJoin);
    const memoryAfterGame = async () => {
      if (!servers.length) return;
      const memAfter = await serverMem();
      if (perProcess >= 250) result.resources.heapPerStudentKb = round(Math.max(...memAfter.map((m, i) => m.heapUsed - memBefore[i]!.heapUsed)) / 1024 / perProcess, 1);
      result.resources.rssPerStudentAfterGameKb = rssGrowthPerStudentKb(serverRssKb());
    };

    // ---------------------------------------------------------------- the game
    const acked = new Map<string, Set<string>>(); // questionId → playerIds acked ok
    const answerFacts = new Map<string, AnswerFact[]>();
    const latency = (facts: WaitFact[], sentAt: (room: number) => number, acks: HostAck[]): Latency => {
      const ok = facts.filter((f) => f.t !== null);
      return {
        hostAckMs: round(Math.max(...acks.map((a) => a.ackAt - a.sentAt))),
        raw: summarize(ok.filter((f) => !isProbe(f.idx)).map((f) => f.t! - sentAt(roomOf(f.idx)))),
        probes: summarize(ok.filter((f) => isProbe(f.idx)).map((f) => f.t! - sentAt(roomOf(f.idx)))),
        missing: facts.length - ok.length,
      };
    };
    const waitAll = async (key: string): Promise<WaitFact[]> =>
      (await Promise.all(all.map((w) => w.call<WaitFact[]>({ type: 'wait', key, timeoutMs: phaseTimeout }, phaseTimeout + 30_000)))).flat();
    /** The host of every room sends `event` (back to back); every room must land on the same step. */
    const hostAll = async (event: string): Promise<{ step: number; sentAt: number[]; acks: HostAck[] }> => {
      // Until the wait for this phase ends (or the phase timeout): see BenchOptions.readPollMs.
      if (o.readPollMs > 0) await Promise.all(workers.map((w) => w.call({ type: 'poll', everyMs: o.readPollMs, timeoutMs: phaseTimeout }, 30_000)));
      const acks = await Promise.all(rooms.map((r) => hostCommand(r, event, phaseTimeout)));
      const steps = new Set(acks.map((a) => a.step));
      if (steps.size !== 1) throw new Error(`rooms disagree on the step after ${event}: ${[...steps].join(', ')}`);
      return { step: acks[0]!.step, sentAt: acks.map((a) => a.sentAt), acks };
    };

    // A failure in the game is recorded, and what was measured so far is still read back and reported.
    try {
      for (let q = 0; q < o.questions; q++) {
        const questionId = bank.questions[q]!.id;
        log(`question ${q + 1}/${o.questions}: fan-out…`);
        // Before Start, the room settles twice as long (the instructor looks at the lobby): the
        // last joiners' views, the count and the host's refresh go out, and the processes'
        // collectors deal with the storm's garbage, as in a classroom, where nobody presses
        // Start the second the last student is in. (Until round 7 the forced GCs after the
        // storm, ~1 s with their pauses, made this gap.)
        await sleep(q === 0 ? 2 * o.thinkMs : o.thinkMs);
        const opened = await phase(`q${q + 1} fan-out`, async () => {
          const cmd = await hostAll(q === 0 ? 'game:start' : 'question:next');
          return { ...cmd, facts: await waitAll(`o:${cmd.step}`) };
        });
        const fanout = latency(opened.facts, (r) => opened.sentAt[r]!, opened.acks);

        log(`  answer burst (${o.answerSpreadMs} ms)…`);
        await sleep(o.thinkMs);
        const startAt = now() + 100;
        const facts = await phase(`q${q + 1} answers`, async () => {
          const ackTimeout = phaseTimeout;
          return (
            await Promise.all(
              all.map((w) =>
                w.call<AnswerFact[]>({ type: 'answer', questionId, questionIndex: q, startAt, spreadMs: o.answerSpreadMs, timeoutMs: ackTimeout }, o.answerSpreadMs + ackTimeout + 30_000),
              ),
            )
          ).flat();
        });
        answerFacts.set(questionId, facts);
        const okFacts = facts.filter((f) => f.ok);
        acked.set(questionId, new Set(okFacts.map((f) => f.playerId!)));
        const sentFacts = facts.filter((f) => f.sent);
        const firstSend = Math.min(...sentFacts.map((f) => f.sentAt!));
        const answers: QuestionResult['answers'] = {
          sent: sentFacts.length,
          acked: okFacts.length,
          refused: count(facts, (f) => (f.sent && !f.ok && f.ackAt !== null ? f.code ?? 'UNKNOWN' : null)),
          unacked: facts.filter((f) => f.sent && f.ackAt === null).length,
          ack: summarize(okFacts.filter((f) => !isProbe(f.idx)).map((f) => f.ackAt! - f.sentAt!)),
          probeAck: summarize(okFacts.filter((f) => isProbe(f.idx)).map((f) => f.ackAt! - f.sentAt!)),
          burstMs: okFacts.length ? round(Math.max(...okFacts.map((f) => f.ackAt!)) - firstSend) : null,
          timeline: [],
        };
        for (const f of sentFacts) {
          const b = Math.floor((f.sentAt! - firstSend) / 100);
          (answers.timeline[b] ??= { atMs: b * 100, sent: 0, ackP50: null, ackMax: null }).sent++;
        }
        answers.timeline = answers.timeline.filter(Boolean).map((bucket) => {
          const lat = okFacts.filter((f) => Math.floor((f.sentAt! - firstSend) / 100) * 100 === bucket.atMs).map((f) => f.ackAt! - f.sentAt!);
          const s = summarize(lat);
          return { ...bucket, ackP50: s.p50, ackMax: s.max };
        });

        if (o.reconnect && (q === 1 || o.questions === 1)) {
          log('  reconnect storm…');
          await sleep(o.thinkMs);
          const back = await phase('reconnect storm', async () => {
            const perWorker = Math.max(1, Math.ceil(o.joinWindow / workerCount));
            return (await Promise.all(all.map((w) => w.call<ReconnectFact[]>({ type: 'reconnect', window: w === probeWorker ? probes : perWorker, timeoutMs: phaseTimeout }, phaseTimeout + 30_000)))).flat();
          });
          const okBack = back.filter((f) => f.ok);
          const answeredNow = acked.get(questionId)!;
          const dropStart = Math.min(...back.map((f) => f.dropAt));
          result.reconnect = {
            dropped: back.length,
            back: okBack.length,
            failed: count(back, (f) => (f.ok ? null : (f.error ?? 'UNKNOWN').slice(0, 60))),
            samePlayer: okBack.filter((f) => f.info?.pidOk).length,
            answerKept: okBack.filter((f) => answeredNow.has(admittedIds.get(f.idx) ?? '') && f.info?.hasMyAnswer && f.info.phase === 'open').length,
            answerExpected: back.filter((f) => answeredNow.has(admittedIds.get(f.idx) ?? '')).length,
            timeToAllResyncedMs: okBack.length ? round(Math.max(...okBack.map((f) => f.resyncAt!)) - dropStart) : null,
            resync: summarize(okBack.filter((f) => !isProbe(f.idx)).map((f) => f.resyncAt! - f.dropAt)),
            probeResync: summarize(okBack.filter((f) => isProbe(f.idx)).map((f) => f.resyncAt! - f.dropAt)),
          };
          log(`  ${okBack.length}/${back.length} back in ${result.reconnect.timeToAllResyncedMs} ms`);
        }

        log('  close, reveal, leaderboard…');
        await sleep(o.thinkMs);
        const closed = await phase(`q${q + 1} close`, async () => {
          const cmd = await hostAll('question:close');
          return { ...cmd, facts: await waitAll(`v:closed:${cmd.step}`) };
        });
        // The display's view of the close (the server sends it once the students have theirs).
        const displayDeadline = now() + phaseTimeout;
        while (now() < displayDeadline && !rooms.every((r) => r.displayViews.has(`closed:${closed.step}`))) await sleep(5);
        const displayAnswered = rooms.map((r) => {
          const roomAcked = okFacts.filter((f) => roomOf(f.idx) === r.index).length;
          return { room: r.index, shown: r.displayViews.get(`closed:${closed.step}`)?.answered ?? null, acked: roomAcked };
        });
        await sleep(o.thinkMs);
        const revealed = await phase(`q${q + 1} reveal`, async () => {
          const cmd = await hostAll('question:reveal');
          return { ...cmd, facts: await waitAll(`v:reveal:${cmd.step}`) };
        });
        const revealInfo = (f: WaitFact): ViewInfo | null => f.info;
        await sleep(o.thinkMs);
        const board = await phase(`q${q + 1} leaderboard`, async () => {
          const cmd = await hostAll('game:leaderboard');
          const facts = await waitAll(`v:leaderboard:${cmd.step}`);
          // The display's top 10 (it may trail the students by a moment).
          const deadline = now() + phaseTimeout;
          while (now() < deadline && !rooms.every((r) => r.displayViews.has(`leaderboard:${cmd.step}`))) await sleep(5);
          return { ...cmd, facts };
        });
        result.questions.push({
          index: q + 1,
          questionId,
          step: opened.step,
          fanout,
          answers,
          close: latency(closed.facts, (r) => closed.sentAt[r]!, closed.acks),
          reveal: {
            ...latency(revealed.facts, (r) => revealed.sentAt[r]!, revealed.acks),
            rankMissing: revealed.facts.filter((f) => f.t !== null && revealInfo(f)?.rank === null).length,
            resultWrong: revealed.facts.filter((f) => f.t !== null && revealInfo(f)?.answered !== acked.get(questionId)!.has(admittedIds.get(f.idx) ?? '')).length,
            notOwnView: revealed.facts.filter((f) => f.t !== null && !revealInfo(f)?.pidOk).length,
          },
          leaderboard: {
            ...latency(board.facts, (r) => board.sentAt[r]!, board.acks),
            displayMs: rooms.map((r) => {
              const v = r.displayViews.get(`leaderboard:${board.step}`);
              return v ? round(v.t - board.sentAt[r.index]!) : NaN;
            }),
            displayTop: rooms.map((r) => r.displayViews.get(`leaderboard:${board.step}`)?.leaderboard ?? 0),
          },
          displayAnswered,
        });
        const last = result.questions[result.questions.length - 1]!;
        log(
          `  fan-out p99 ${last.fanout.raw.p99} ms, ack p99 ${last.answers.ack.p99} ms (${last.answers.acked}/${last.answers.sent}), reveal p99 ${last.reveal.raw.p99} ms`,
        );
      }

      log('end of game…');
      await sleep(o.thinkMs);
      const ended = await phase('end', async () => {
        const cmd = await hostAll('game:end');
        return { ...cmd, facts: await waitAll(`v:finished:${cmd.step}`) };
      });
      result.end = latency(ended.facts, (r) => ended.sentAt[r]!, ended.acks);
      await memoryAfterGame();
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log(`ERROR: ${result.error} (reading back what was stored so far)`);
    }

    // ---------------------------------------------------------------- integrity: read back from the store
    log('reading the results back from the store…');
    await phase('export', async () => {
      const integ = result.integrity;
      integ.playersAdmitted = admitted.length;
      const admittedSet = new Set(admitted.map((f) => f.playerId!));
      const exportedPlayers = new Set<string>();
      const stored = new Set<string>(); // `${questionId}\0${playerId}` with an answer in the store
      const factOf = new Map<string, AnswerFact>();
      for (const [qid, facts] of answerFacts) for (const f of facts) if (f.playerId) factOf.set(`${qid}\u0000${f.playerId}`, f);
      for (const r of rooms) {
        const results = await exportResults(urls[0]!, cookie, r.code);
        const seen = new Set<string>();
        for (const p of results.players) {
          if (seen.has(p.playerId)) integ.doubleCounted++; // a player listed twice
          seen.add(p.playerId);
          exportedPlayers.add(p.playerId);
          if (!admittedSet.has(p.playerId)) integ.phantomPlayers++;
        }
        const rowsSeen = new Set<string>();
        for (const row of results.rows) {
          const key = `${row.questionId}\u0000${row.playerId}`;
          if (rowsSeen.has(key)) {
            integ.doubleCounted++; // two records for one (player, question)
            continue;
          }
          rowsSeen.add(key);
          if (!row.answered) continue;
          stored.add(key);
          integ.stored++;
          const fact = factOf.get(key);
          if (fact?.ok) continue;
          if (fact && fact.sent && fact.ackAt === null) integ.storedUnacked++;
          else integ.doubleCounted++; // stored although the student was told "refused", or never sent one
        }
      }
      for (const [qid, set] of acked) for (const pid of set) if (!stored.has(`${qid}\u0000${pid}`)) integ.lost++;
      integ.playersExported = exportedPlayers.size;
      integ.missingPlayers = [...admittedSet].filter((p) => !exportedPlayers.has(p)).length;
      for (const [, facts] of answerFacts) {
        integ.sent += facts.filter((f) => f.sent).length;
        integ.acked += facts.filter((f) => f.ok).length;
        integ.refused += facts.filter((f) => f.sent && !f.ok && f.ackAt !== null).length;
        integ.unacked += facts.filter((f) => f.sent && f.ackAt === null).length;
      }
      integ.displayAnsweredMismatch = result.questions.reduce((s, q) => s + q.displayAnswered.filter((d) => d.shown !== d.acked).length, 0);
    });

    // ---------------------------------------------------------------- disconnects and checks
    const reports = (await Promise.all(all.map((w) => w.call<StudentReport[]>({ type: 'report' }, 30_000)))).flat();
    const d = result.disconnects;
    for (const r of reports) {
      if (isProbe(r.idx)) d.probes += r.disconnects;
      else d.raw += r.disconnects;
      d.recovered += r.reconnects;
      if (r.joined && !r.connected) d.notConnectedAtEnd++;
      if (r.disconnects > 0 && d.samples.length < 5) d.samples.push(`student ${r.idx}: ${r.lastError ?? 'closed'}`);
      if (r.disconnects > 0 && r.lastDisconnectAt !== null) {
        const p = result.resources.phases.find((x) => r.lastDisconnectAt! >= x.startMs && r.lastDisconnectAt! <= x.endMs);
        const where = p?.phase ?? 'between phases';
        d.byPhase[where] = (d.byPhase[where] ?? 0) + 1;
      }
      result.parseChecks.checked += r.parseChecks;
      result.parseChecks.mismatches += r.parseMismatches;
    }
    d.total = d.raw + d.probes;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    result.error = result.error ? `${result.error}; then ${message}` : message;
    log(`ERROR: ${message}`);
  } finally {
    // ---------------------------------------------------------------- teardown (always)
    for (const r of rooms) {
      r.host.disconnect();
      r.display.disconnect();
    }
    const mine = [...workers, ...(probeWorker ? [probeWorker] : [])];
    if (o.generator) {
      // Lent: handed back with nobody connected (a process that cannot say so is closed instead).
      const lent = o.generator;
      await Promise.all(
        mine.map(async (w) => {
          if (!(await w.reset())) return w.close().catch(() => undefined);
          if (w === probeWorker) lent.probe = w;
          else lent.raw.push(w);
        }),
      );
    } else {
      // Ours, and whatever the warm-up left that this run did not use.
      const leftovers = [...pool.raw, ...(pool.probe ? [pool.probe] : [])];
      await Promise.all([...mine, ...leftovers].map((w) => w.close().catch(() => undefined)));
    }
    for (const s of servers) {
      const sample = sampleProc(s.pid);
      if (sample) {
        result.resources.serverPeakRssKb.push(sample.hwmKb);
        result.resources.serverCpuTotalMs.push(round(sample.cpuMs - (cpuAtStart.servers[servers.indexOf(s)] ?? 0)));
      }
    }
    if (redisPid) {
      const sample = sampleProc(redisPid);
      if (sample) result.resources.redisCpuTotalMs = round(sample.cpuMs - cpuAtStart.redis);
    }
    result.resources.generatorCpuTotalMs = round(result.resources.phases.reduce((s, p) => s + p.generatorCpuMs, 0));
    const phaseWall = result.resources.phases.reduce((s, p) => s + p.wallMs, 0);
    result.noise.otherCpuMs = round(result.resources.phases.reduce((s, p) => s + p.otherCpuMs, 0));
    result.noise.otherCores = phaseWall ? round(result.noise.otherCpuMs / phaseWall, 2) : 0;
    result.noise.stealMs = round(result.resources.phases.reduce((s, p) => s + (p.stealMs ?? 0), 0));
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await redis?.stop().catch(() => undefined);
  }

  // ---------------------------------------------------------------- broadcast cost (alone on the machine)
  if (o.broadcastK > 0 && !result.error) {
    log(`broadcast cost: K=${o.broadcastK}…`);
    try {
      result.broadcastCost = await runBroadcastCostChild(o.broadcastK, o.broadcastRounds);
    } catch (err) {
      log(`broadcast cost failed: ${(err as Error).message}`);
    }
  }
  if (o.profile) log(`CPU profiles of the server processes: ${PROFILE_DIR} (summarise: npx tsx tests/bench/profile-summary.ts ${PROFILE_DIR}/<file>)`);

  result.bars = bars(result);
  result.wallMs = round(now() - t0);
  return result;
}

async function runBroadcastCostChild(k: number, rounds: number): Promise<CostResult> {
  const child = spawnTracked(process.execPath, ['--import', TSX_LOADER, path.join(BENCH_DIR, 'broadcast-cost.ts'), '--k', String(k), '--rounds', String(rounds), '--json'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await withTimeout(new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))))), 180_000, 'broadcast-cost');
  } finally {
    await stopChild(child, 1000);
  }
  const line = out.split('\n').find((l) => l.startsWith('{"type":"broadcast-cost"'));
  if (!line) throw new Error(`no result from broadcast-cost: ${out.slice(-500)}`);
  const { type: _t, ...r } = JSON.parse(line) as CostResult & { type: string };
  return r;
}

// ------------------------------------------------------------------ the bar

/** All questions' samples pooled: p99 over every student and question. */
export function pooled(result: BenchResult, pick: (q: QuestionResult) => Summary): number | null {
  const xs = result.questions.map(pick).filter((s) => s.p99 !== null);
  return xs.length ? Math.max(...xs.map((s) => s.p99!)) : null;
}

function bars(r: BenchResult): BenchResult['bars'] {
  const out: BenchResult['bars'] = [];
  const lim = (name: string, target: number, value: number | null, unit = 'ms') =>
    out.push({ name, target: `≤ ${target} ${unit}`, value: value === null ? '–' : `${value} ${unit}`, pass: value === null ? null : value <= target });
  lim('all admitted (join storm)', 3000, r.join.admitted === r.students ? r.join.timeToAllAdmittedMs : null);
  lim('question fan-out p99 (worst question)', 50, pooled(r, (q) => q.fanout.raw));
  lim('answer ack p99 (worst question)', 250, pooled(r, (q) => q.answers.ack));
  lim('reveal fan-out p99 (worst question)', 100, pooled(r, (q) => q.reveal.raw));
  out.push({ name: 'answers lost', target: '0', value: String(r.integrity.lost), pass: r.integrity.lost === 0 });
  out.push({ name: 'answers double-counted', target: '0', value: String(r.integrity.doubleCounted), pass: r.integrity.doubleCounted === 0 });
  out.push({ name: 'disconnects', target: '0', value: String(r.disconnects.total), pass: r.disconnects.total === 0 });
  if (r.resources.rssPerStudentKb !== null) lim('server RSS per connected student', 40, r.resources.rssPerStudentKb, 'KB');
  if (r.broadcastCost) {
    const b = r.broadcastCost;
    // The server's own question broadcast (direct writes); Socket.IO's room emit where an older result has no such round.
    const ratio = b.directRatio ?? b.ratio;
    const us = b.directUsPerRecipient ?? b.sioUsPerRecipient;
    out.push({ name: 'broadcast cost per recipient vs raw write()', target: '≤ 3×', value: `${ratio}× (${us} vs ${b.rawUsPerRecipient} µs; Socket.IO emit ${b.ratio}×)`, pass: ratio <= 3 });
  }
  return out;
}

/** Smoke criteria (CI): everyone admitted, nothing lost or double-counted, no disconnects, no error. */
export function smokeProblems(r: BenchResult): string[] {
  const p: string[] = [];
  if (r.error) p.push(`error: ${r.error}`);
  if (r.join.admitted !== r.students) p.push(`admitted ${r.join.admitted}/${r.students}: ${JSON.stringify(r.join.failed)}`);
  if (r.integrity.lost) p.push(`${r.integrity.lost} answers lost`);
  if (r.integrity.doubleCounted) p.push(`${r.integrity.doubleCounted} answers double-counted`);
  if (r.integrity.acked !== r.integrity.sent) p.push(`${r.integrity.sent - r.integrity.acked} answers not acked ok`);
  if (r.disconnects.total) p.push(`${r.disconnects.total} disconnects (${r.disconnects.samples.join('; ')})`);
  if (r.reconnect && r.reconnect.back !== r.reconnect.dropped) p.push(`reconnect: ${r.reconnect.back}/${r.reconnect.dropped} back`);
  if (r.reconnect && r.reconnect.samePlayer !== r.reconnect.back) p.push(`reconnect: ${r.reconnect.back - r.reconnect.samePlayer} came back as someone else`);
  if (r.reconnect && r.reconnect.answerKept !== r.reconnect.answerExpected) p.push(`reconnect: ${r.reconnect.answerExpected - r.reconnect.answerKept} lost their answer`);
  const missing = r.questions.reduce((s, q) => s + q.fanout.missing + q.close.missing + q.reveal.missing + q.leaderboard.missing, 0) + r.end.missing;
  if (missing) p.push(`${missing} expected deliveries never arrived`);
  const wrong = r.questions.reduce((s, q) => s + q.reveal.rankMissing + q.reveal.resultWrong + q.reveal.notOwnView, 0);
  if (wrong) p.push(`${wrong} reveal views without rank / with a wrong result`);
  if (r.integrity.phantomPlayers || r.integrity.missingPlayers) p.push(`players: ${r.integrity.phantomPlayers} phantom, ${r.integrity.missingPlayers} missing`);
  if (r.parseChecks.mismatches) p.push(`${r.parseChecks.mismatches} raw-view parse mismatches`);
  // Older reports have no warm-up.
  for (const w of r.warmup ?? []) for (const problem of w.problems) p.push(`warm-up: ${problem}`);
  return p;
}
