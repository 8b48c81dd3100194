/**
 * The floor under the join storm: what a bare Socket.IO server (Quizroom's options, no
 * middleware, no store) costs per connecting client that sends one event and gets its ack,
 * against the same raw clients as the bench. Server in a child process; its CPU from /proc.
 *
 *   npx tsx tests/bench/floor-join.ts [--n 2000] [--window 256]
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { now } from './clock.ts';
import { sampleProc } from './procstat.ts';
import { RawClient } from './raw-client.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};

if (process.argv.includes('--server')) {
  const http = createServer();
  const io = new Server(http, { perMessageDeflate: false, httpCompression: false, serveClient: false, maxHttpBufferSize: 16 * 1024 });
  io.on('connection', (socket) => {
    void socket.join('room');
    socket.on('player:join', (_p: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: { playerId: socket.id, token: 'x'.repeat(43), nickname: 'n' } }));
  });
  http.listen(0, '127.0.0.1', () => process.send!({ port: (http.address() as AddressInfo).port }));
} else {
  const n = arg('--n', 2000);
  const window = arg('--window', 256);
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const before = sampleProc(child.pid!)!;
  const t0 = now();
  let next = 0;
  const clients: RawClient[] = [];
  const one = async () => {
    while (next < n) {
      next++;
      const c = new RawClient({ url: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, auth: { role: 'student', code: '123456' } });
      clients.push(c);
      await c.connect(30_000);
      const r = await c.request('player:join', { nickname: 'Ada' }, 30_000);
      if (!r.ok) throw new Error('join failed');
    }
  };
  await Promise.all(Array.from({ length: window }, one));
  const wall = now() - t0;
  const after = sampleProc(child.pid!)!;
  console.log(`bare Socket.IO: ${n} connections + one acked event each in ${wall.toFixed(0)} ms; server CPU ${after.cpuMs - before.cpuMs} ms = ${((after.cpuMs - before.cpuMs) / n * 1000).toFixed(0)} µs per client`);
  for (const c of clients) c.drop();
  child.kill();
  process.exit(0);
}
