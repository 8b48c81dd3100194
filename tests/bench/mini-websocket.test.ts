/**
 * The bench's WebSocket client reads every connection into one shared buffer (net's `onread`):
 * what it hands on must be exactly what each server sent, whatever the reads cut — many
 * frames in one read, frames split over two reads, a frame larger than the buffer, two
 * connections reading in turn. A real `ws` server on an ephemeral port, real sockets.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { MiniWebSocket } from './mini-websocket.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function startServer(): Promise<{ url: string; accepted: ServerSocket[] }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const accepted: ServerSocket[] = [];
  wss.on('connection', (ws) => accepted.push(ws));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(async () => {
    for (const ws of accepted) ws.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, accepted };
}

/** A client that keeps every message it is handed, as text (a copy: the Buffer is only valid during the call). */
async function openClient(url: string): Promise<{ messages: string[]; arrived: (count: number) => Promise<void> }> {
  const ws = new MiniWebSocket(url);
  cleanups.push(() => ws.terminate());
  const messages: string[] = [];
  let waiter: { count: number; resolve: () => void } | null = null;
  ws.on('message', (data: Buffer) => {
    messages.push(data.toString());
    if (waiter && messages.length >= waiter.count) waiter.resolve();
  });
  await once(ws, 'open');
  return {
    messages,
    arrived: (count) => (messages.length >= count ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { count, resolve }))),
  };
}

/** Every byte depends on the connection, the index and the position, so a mix-up shows. */
function message(tag: string, i: number, length: number): string {
  let s = `${tag}:${i}:`;
  while (s.length < length) s += String.fromCharCode(97 + ((s.length * 31 + i * 7 + tag.length) % 26));
  return s;
}

describe('MiniWebSocket over a shared read buffer', () => {
  it('hands on every message byte-exact: batched in one read, split over reads, larger than the buffer, two connections interleaved', async () => {
    const { url, accepted } = await startServer();
    const a = await openClient(url);
    const b = await openClient(url);
    expect(accepted).toHaveLength(2); // in the order they connected: a, then b
    const plan = (tag: string) => [
      ...Array.from({ length: 400 }, (_, i) => message(tag, i, 100 + ((i * 37) % 900))), // ~220 KB of small frames: many per read, some cut at a read's end
      message(tag, 400, 200_000), // larger than the 64-KB read buffer
      ...Array.from({ length: 50 }, (_, i) => message(tag, 401 + i, 126 + i)), // 16-bit length headers, split anywhere
    ];
    const sent = { a: plan('a'), b: plan('b') };
    // Each server socket's frames leave in one write (corked), and the two connections' writes alternate.
    const sockets = accepted.map((ws) => (ws as unknown as { _socket: Socket })._socket);
    for (const s of sockets) s.cork();
    for (let i = 0; i < sent.a.length; i++) {
      accepted[0]!.send(sent.a[i]!);
      accepted[1]!.send(sent.b[i]!);
    }
    for (const s of sockets) s.uncork();
    await Promise.all([a.arrived(sent.a.length), b.arrived(sent.b.length)]);
    expect(a.messages).toEqual(sent.a);
    expect(b.messages).toEqual(sent.b);
  });
});
