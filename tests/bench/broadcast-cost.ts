/**
 * Cost per recipient of a broadcast, server side: K loopback WebSocket connections get the
 * same ~300-byte message, either
 *   raw: one pre-encoded WebSocket frame, `socket.write(frame)` on each connection's
 *        net.Socket (the floor: a syscall per socket), or
 *   sio: one Socket.IO room broadcast, `io.to(room).emit('question:opened', payload)`,
 *        with the server options Quizroom uses (perMessageDeflate off).
 * Both write the very same bytes per socket (`42["question:opened",{…}]`). A third round,
 *   quizroom: what the server does for a question: the packet framed once and written straight
 *        to each connection's TCP socket, one write(2) on its descriptor without the net.Socket
 *        stream the floor goes through (server/src/realtime/direct-write.ts), and
 *   personal: every socket gets its own ~900-byte student view (a reveal: question, solution,
 *        the student's result), encoded the way the server's broadcaster does (shared parts
 *        once, student-packet.ts) and written straight to the socket, which shows what a
 *        personal view costs next to a broadcast.
 *
 * Per round: CPU of this process (process.cpuUsage) from just before the broadcast until
 * the client process reports every copy received, and the same CPU for the synchronous
 * part alone; divided by K. The clients live in a forked process (`--clients`), so their
 * receive cost is not counted. Median of `rounds` rounds after warm-up.
 *
 *   node --import tsx tests/bench/broadcast-cost.ts [--k 2000] [--rounds 30] [--json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import WebSocket, { WebSocketServer } from 'ws';
import { now, withTimeout } from './clock.ts';
import { SharedPacket } from '../../server/src/realtime/direct-write.ts';
import { StudentPacketEncoder } from '../../server/src/realtime/student-packet.ts';
import { RawClient } from './raw-client.ts';

export interface CostResult {
  k: number;
  rounds: number;
  payloadBytes: number;
  /** µs of server CPU per recipient, median over rounds (until all received). */
  rawUsPerRecipient: number;
  sioUsPerRecipient: number;
  /** µs per recipient of the synchronous part only (the write loop / the emit call). */
  rawSyncUsPerRecipient: number;
  sioSyncUsPerRecipient: number;
  /** Wall time until the last of K copies arrived (median, ms). */
  rawDeliverMs: number;
  sioDeliverMs: number;
  /** sio / raw, CPU per recipient. */
  ratio: number;
  /** Quizroom's question broadcast (SharedPacket: framed once, direct writes): µs per recipient, sync part, delivery (ms), ratio to raw. */
  directUsPerRecipient?: number;
  directSyncUsPerRecipient?: number;
  directDeliverMs?: number;
  directRatio?: number;
  /** Personal views (one per socket, each encoded for its socket): µs per recipient, its sync part, delivery (ms), bytes. */
  personalUsPerRecipient: number;
  personalSyncUsPerRecipient: number;
  personalDeliverMs: number;
  personalPayloadBytes: number;
}

const SOLUTION = { type: 'single' as const, correct: [1] };

/** A reveal view like the server's, different for every student (question and solution shared, as the server's are). */
function personalView(i: number) {
  return {
    role: 'student',
    code: 'BENCH1',
    phase: 'reveal',
    step: 5,
    me: { playerId: `p${i.toString(36).padStart(11, '0')}`, nickname: `Student ${i}`, score: 1000 + i, rank: i + 1, streak: 1, consent: false },
    playerCount: 2000,
    question: PAYLOAD.question,
    deadline: null,
    pausedRemainingMs: null,
    myAnswer: { answer: { type: 'single', choice: i % 4 }, justification: null },
    reveal: {
      solution: SOLUTION,
      explanation: 'Containers share the host kernel; virtual machines each run their own.',
      result: { questionId: 'q1', answered: true, correct: i % 4 === 1, fraction: i % 4 === 1 ? 1 : 0, points: i % 4 === 1 ? 950 : 0, streakBonus: 0, streak: 1, awaitingGrade: false },
    },
    grades: [],
    leaderboard: null,
    final: null,
    serverNow: 1767225540000,
  };
}

const PAYLOAD = {
  step: 1,
  question: {
    id: 'q1',
    index: 0,
    total: 3,
    type: 'single',
    prompt: 'Which of these shares the host kernel?',
    timeLimitMs: 60000,
    points: 1000,
    difficulty: 'medium',
    choices: ['A virtual machine', 'A container', 'An emulator', 'A unikernel'],
  },
  deadline: 1767225600000,
  pausedRemainingMs: null,
  serverNow: 1767225540000,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ------------------------------------------------------------------ client process

type ClientCmd = { type: 'connect'; mode: 'raw' | 'sio'; port: number; k: number } | { type: 'expect'; total: number } | { type: 'close' };

function runClientProcess(): void {
  let received = 0;
  let expect: number | null = null;
  const sockets: { close(): void }[] = [];
  const check = () => {
    if (expect !== null && received >= expect) {
      expect = null;
      process.send!({ type: 'done', t: now() });
    }
  };
  process.on('message', async (cmd: ClientCmd) => {
    if (cmd.type === 'connect') {
      received = 0;
      for (const s of sockets.splice(0)) s.close();
      const opened: Promise<void>[] = [];
      for (let i = 0; i < cmd.k; i++) {
        if (cmd.mode === 'raw') {
          const ws = new WebSocket(`ws://127.0.0.1:${cmd.port}/raw`, { perMessageDeflate: false, skipUTF8Validation: true });
          ws.on('message', () => {
            received++;
            check();
          });
          sockets.push({ close: () => ws.terminate() });
          opened.push(new Promise((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))));
        } else {
          const c = new RawClient({
            url: `ws://127.0.0.1:${cmd.port}/socket.io/?EIO=4&transport=websocket`,
            auth: {},
            onEvent: () => {
              received++;
              check();
            },
          });
          sockets.push({ close: () => c.drop() });
          opened.push(c.connect(30_000));
        }
        if (i % 100 === 99) await Promise.all(opened.slice(-100));
      }
      await Promise.all(opened);
      process.send!({ type: 'connected' });
    } else if (cmd.type === 'expect') {
      expect = cmd.total;
      check();
    } else {
      for (const s of sockets.splice(0)) s.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ------------------------------------------------------------------ server side

function ask<T extends { type: string }>(child: ChildProcess, msg: ClientCmd, reply: T['type'], timeoutMs: number): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => {
      const on = (m: T) => {
        if (m.type !== reply) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send(msg);
    }),
    timeoutMs,
    `broadcast-cost clients: ${reply}`,
  );
}

async function measure(
  child: ChildProcess,
  k: number,
  rounds: number,
  broadcast: () => void,
  state: { total: number },
): Promise<{ cpuUs: number[]; syncUs: number[]; deliverMs: number[] }> {
  const out = { cpuUs: [] as number[], syncUs: [] as number[], deliverMs: [] as number[] };
  const warmup = Math.min(5, Math.max(1, Math.floor(rounds / 5)));
  for (let r = 0; r < warmup + rounds; r++) {
    state.total += k;
    // Tell the clients what to expect first, and let the IPC settle, so that receipt is all that is timed.
    const done = ask<{ type: 'done'; t: number }>(child, { type: 'expect', total: state.total }, 'done', 30_000);
    await new Promise((r) => setTimeout(r, 20));
    const cpu0 = process.cpuUsage();
    const t0 = now();
    broadcast();
    const sync = process.cpuUsage(cpu0);
    const { t } = await done;
    const total = process.cpuUsage(cpu0);
    if (r < warmup) continue;
    out.syncUs.push(sync.user + sync.system);
    out.cpuUs.push(total.user + total.system);
    out.deliverMs.push(t - t0);
  }
  return out;
}

export async function runBroadcastCost(opts: { k: number; rounds: number }): Promise<CostResult> {
  const { k, rounds } = opts;
  const child = fork(fileURLToPath(import.meta.url), ['--clients'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const listen = (server: HttpServer) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const packet = `42${JSON.stringify(['question:opened', PAYLOAD])}`;
  try {
    // raw: a plain ws server; the frame is encoded once and written to every net.Socket.
    const rawHttp = createServer();
    const wss = new WebSocketServer({ server: rawHttp, path: '/raw', perMessageDeflate: false });
    const conns: NetSocket[] = [];
    wss.on('connection', (ws) => conns.push((ws as unknown as { _socket: NetSocket })._socket));
    const rawPort = await listen(rawHttp);
    await ask(child, { type: 'connect', mode: 'raw', port: rawPort, k }, 'connected', 120_000);
    const frame = textFrame(packet);
    const rawState = { total: 0 };
    const raw = await measure(child, k, rounds, () => {
      for (const socket of conns) socket.write(frame);
    }, rawState);
    for (const c of wss.clients) c.terminate();
    wss.close();
    rawHttp.close();

    // sio: Socket.IO with Quizroom's options, one room, one emit.
    const sioHttp = createServer();
    const io = new Server(sioHttp, { perMessageDeflate: false, httpCompression: false, serveClient: false, maxHttpBufferSize: 16 * 1024 });
    io.on('connection', (socket) => void socket.join('room'));
    const sioPort = await listen(sioHttp);
    await ask(child, { type: 'connect', mode: 'sio', port: sioPort, k }, 'connected', 120_000);
    const sioState = { total: 0 };
    const sio = await measure(child, k, rounds, () => {
      io.to('room').emit('question:opened', PAYLOAD);
    }, sioState);
    // The same connections, personal views built beforehand: only encoding and writing are timed.
    const sockets = [...io.of('/').sockets.values()];
    const views = sockets.map((_, i) => personalView(i));
    // quizroom: what the server does for a question: one packet, framed once, written straight to each TCP socket (direct-write.ts).
    const direct = await measure(child, k, rounds, () => {
      const shared = new SharedPacket(`2${JSON.stringify(['question:opened', PAYLOAD])}`);
      for (const socket of sockets) shared.send(socket.conn);
    }, sioState);
    // personal, the server's way: shared parts encoded once (student-packet.ts), one direct write per view.
    const personal = await measure(child, k, rounds, () => {
      const encoder = new StudentPacketEncoder({ question: PAYLOAD.question as never, solution: SOLUTION, leaderboard: null });
      for (let i = 0; i < sockets.length; i++) new SharedPacket(encoder.packet(views[i] as never)).send(sockets[i]!.conn);
    }, sioState);
    io.close();
    sioHttp.close();

    const per = (us: number[]) => median(us) / k;
    const rawUs = per(raw.cpuUs);
    const sioUs = per(sio.cpuUs);
    return {
      k,
      rounds,
      payloadBytes: Buffer.byteLength(packet),
      rawUsPerRecipient: round2(rawUs),
      sioUsPerRecipient: round2(sioUs),
      rawSyncUsPerRecipient: round2(per(raw.syncUs)),
      sioSyncUsPerRecipient: round2(per(sio.syncUs)),
      rawDeliverMs: round2(median(raw.deliverMs)),
      sioDeliverMs: round2(median(sio.deliverMs)),
      ratio: round2(sioUs / rawUs),
      directUsPerRecipient: round2(per(direct.cpuUs)),
      directSyncUsPerRecipient: round2(per(direct.syncUs)),
      directDeliverMs: round2(median(direct.deliverMs)),
      directRatio: round2(per(direct.cpuUs) / rawUs),
      personalUsPerRecipient: round2(per(personal.cpuUs)),
      personalSyncUsPerRecipient: round2(per(personal.syncUs)),
      personalDeliverMs: round2(median(personal.deliverMs)),
      personalPayloadBytes: Buffer.byteLength(`42${JSON.stringify(['student:view', views[0]])}`),
    };
  } finally {
    child.send({ type: 'close' });
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  }
}

/** An unmasked, final WebSocket text frame (server → client), RFC 6455 §5.2. */
export function textFrame(text: string): Buffer {
  const data = Buffer.from(text);
  const n = data.length;
  const header = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 0xff]) : null;
  if (!header) throw new Error('frame too large for this benchmark');
  return Buffer.concat([header, data]);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

// ------------------------------------------------------------------ CLI

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  if (process.argv.includes('--clients')) runClientProcess();
  else {
    const arg = (name: string, d: number) => {
      const i = process.argv.indexOf(name);
      return i >= 0 ? Number(process.argv[i + 1]) : d;
    };
    runBroadcastCost({ k: arg('--k', 2000), rounds: arg('--rounds', 30) }).then(
      (r) => {
        if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ type: 'broadcast-cost', ...r }) + '\n');
        else console.log(r);
        process.exit(0);
      },
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}
