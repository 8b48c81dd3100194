/**
 * Direct writes to a student's TCP socket (`direct-write.ts`) must be indistinguishable from
 * `socket.emit`: the frame is byte for byte the one ws builds, it is used only when nothing is
 * queued ahead of it in Engine.IO or ws (so the order of messages is kept), and anything else
 * (long-polling, a closed connection) goes through Engine.IO. The live tests run a real
 * Socket.IO server and client; `directSocket` returning null on a plain WebSocket connection
 * means an engine.io/ws upgrade renamed the internals it reads.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createTcpServer, connect as tcpConnect, Socket as TcpSocket, type AddressInfo, type Server as TcpServer } from 'node:net';
import { dirname } from 'node:path';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { directSocket, plainFd, SharedPacket, websocketFrame, writeFrame } from './direct-write.ts';

// The ws that engine.io (as socket.io loads it) frames with: engine.io's own copy if it has one.
const require = createRequire(import.meta.url);
const engineIoDir = dirname(require.resolve('engine.io', { paths: [dirname(require.resolve('socket.io'))] }));
const { Sender } = require(require.resolve('ws', { paths: [engineIoDir] })) as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

/** What ws sends for the Engine.IO message `4<packet>` (server side: FIN, text, unmasked, no compression). */
const wsFrame = (packet: string) =>
  Buffer.concat(Sender.frame(Buffer.from('4' + packet), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));

describe('websocketFrame: byte for byte the frame ws builds', () => {
  it('packets of 0 to 130 bytes (frame payloads 1 to 131, across the 7-bit / 16-bit length boundary at 126)', () => {
    for (let n = 0; n <= 130; n++) {
      const packet = 'x'.repeat(n);
      expect(websocketFrame(packet).equals(wsFrame(packet)), `packet of ${n} bytes`).toBe(true);
    }
  });

  it('frame payloads of 125, 126, 65535 and 65536 bytes, and around them (16-bit / 64-bit length boundary at 65536)', () => {
    for (const payload of [125, 126, 127, 65_534, 65_535, 65_536, 65_537, 200_000]) {
      const packet = 'y'.repeat(payload - 1);
      const frame = websocketFrame(packet);
      expect(frame.equals(wsFrame(packet)), `payload of ${payload} bytes`).toBe(true);
      expect(frame.length - payload, `header of a ${payload}-byte payload`).toBe(payload < 126 ? 2 : payload < 65_536 ? 4 : 10);
    }
  });

  it('multi-byte UTF-8: the length is counted in bytes, not UTF-16 units', () => {
    const samples = [
      'é',
      '🙂',
      '2["hello",{"name":"Zoë","mood":"🙂👍🏽","city":"Zürich — Ελλάδα — 日本"}]',
      // Fewer than 126 characters, more than 126 bytes; and fewer than 65,536 characters, more than 65,536 bytes.
      '🙂'.repeat(40),
      'é'.repeat(32_768),
      'ü'.repeat(33_000) + '🙂',
      // A lone surrogate: both sides write it as U+FFFD (3 bytes).
      'a\ud800b',
    ];
    for (const packet of samples) {
      expect(websocketFrame(packet).equals(wsFrame(packet)), `${packet.slice(0, 20)}… (${Buffer.byteLength(packet)} bytes)`).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ a real server and client

let servers: { io: Server; http: HttpServer }[] = [];
let clients: ClientSocket[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  for (const { io, http } of servers) {
    http.closeAllConnections();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  }
  servers = [];
  clients = [];
});

/** A Socket.IO server on 127.0.0.1 and one client connected to it (over `transport` only). */
async function connected(transport: 'websocket' | 'polling'): Promise<{ server: ServerSocket; client: ClientSocket; port: number }> {
  const http = createServer();
  const io = new Server(http, { perMessageDeflate: false });
  servers.push({ io, http });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const serverSide = new Promise<ServerSocket>((resolve) => io.once('connection', resolve));
  const client = connect(`http://127.0.0.1:${port}`, { transports: [transport], forceNew: true, reconnection: false });
  clients.push(client);
  const [server] = await Promise.all([serverSide, new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  })]);
  return { server, client, port };
}

/** Resolves with the first `count` values of `event` the client receives, in order. */
function receive<T>(client: ClientSocket, event: string, count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const got: T[] = [];
    const on = (value: T) => {
      got.push(value);
      if (got.length === count) {
        client.off(event, on);
        resolve(got);
      }
    };
    client.on(event, on);
  });
}

/** Sends `hello {n: 1}` to the client as one SharedPacket; resolves with the packet once the client has it. */
async function sendHello(server: ServerSocket, client: ClientSocket): Promise<SharedPacket> {
  const hello = receive<unknown>(client, 'hello', 1);
  const packet = new SharedPacket('2["hello",{"n":1}]');
  packet.send(server.conn);
  expect(await hello).toEqual([{ n: 1 }]);
  return packet;
}

describe('directSocket and SharedPacket on a real Socket.IO connection', () => {
  it('a plain WebSocket connection with nothing queued has a TCP socket to write to (canary for the engine.io/ws internals)', async () => {
    const { server, port } = await connected('websocket');
    const tcp = directSocket(server.conn);
    expect(tcp, 'directSocket found no TCP socket: did an engine.io or ws upgrade rename transport.socket._socket / _sender._queue / _state?').not.toBeNull();
    expect(tcp).toBeInstanceOf(TcpSocket);
    expect(tcp!.localPort).toBe(port);
  });

  it('a shared packet is written straight to the TCP socket and reaches the client as the event', async () => {
    const { server, client } = await connected('websocket');
    const packet = await sendHello(server, client);
    expect(packet.direct).toBe(1);
    expect(packet.viaEngine).toBe(0);
  });

  it('frames of every length class and multi-byte text arrive intact over the wire', async () => {
    const { server, client } = await connected('websocket');
    const texts = ['', 'x'.repeat(100), 'x'.repeat(200), 'é'.repeat(40_000), '🙂'.repeat(20_000), 'z'.repeat(70_000)];
    const got = receive<string>(client, 'text', texts.length);
    const packets = texts.map((t) => new SharedPacket(`2${JSON.stringify(['text', t])}`));
    // One at a time: each waits for the one before to be flushed (nothing queued in Engine.IO or ws).
    for (const [i, p] of packets.entries()) {
      const arrived = receive<string>(client, 'text', 1);
      p.send(server.conn);
      expect(await arrived, `text ${i}`).toEqual([texts[i]]);
    }
    expect(await got).toEqual(texts);
    expect(packets.map((p) => p.direct)).toEqual(texts.map(() => 1));
  });

  it('one shared packet to several connections: framed once, received by each', async () => {
    const a = await connected('websocket');
    const b = await connected('websocket');
    const both = Promise.all([receive(a.client, 'hello', 1), receive(b.client, 'hello', 1)]);
    const packet = new SharedPacket('2["hello","all"]');
    packet.send(a.server.conn);
    packet.send(b.server.conn);
    expect(await both).toEqual([['all'], ['all']]);
    expect(packet.direct).toBe(2);
  });

  it('order is kept: emits queued in Engine.IO go first, the shared packet waits behind them (through Engine.IO)', async () => {
    const { server, client } = await connected('websocket');
    const got = receive<number>(client, 'a', 7);
    // The first emit goes to ws at once; the next ones wait in Engine.IO's write buffer until it drains.
    server.emit('a', 1);
    server.emit('a', 2);
    server.emit('a', 3);
    const packet = new SharedPacket('2["a",4]');
    packet.send(server.conn);
    server.emit('a', 5);
    server.emit('a', 6);
    server.emit('a', 7);
    expect(await got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(packet.viaEngine).toBe(1);
    expect(packet.direct).toBe(0);
  });

  it('order is kept: a direct write after an emit already handed to the TCP socket goes after it, and before later emits', async () => {
    const { server, client } = await connected('websocket');
    const got = receive<number>(client, 'a', 5);
    server.emit('a', 1);
    const packet = new SharedPacket('2["a",2]');
    packet.send(server.conn);
    server.emit('a', 3);
    packet.send(server.conn); // the later emit is now queued in Engine.IO: this one goes behind it
    server.emit('a', 4);
    expect(await got).toEqual([1, 2, 3, 2, 4]);
    expect(packet.direct).toBe(1);
    expect(packet.viaEngine).toBe(1);
  });

  it('a long-polling connection has no direct socket: the packet goes through Engine.IO and still arrives', async () => {
    const { server, client } = await connected('polling');
    expect(server.conn.transport.name).toBe('polling');
    expect(directSocket(server.conn)).toBeNull();
    const packet = await sendHello(server, client);
    expect(packet.viaEngine).toBe(1);
    expect(packet.direct).toBe(0);
  });

  it('after the client disconnects there is no direct socket, and sending does not throw', async () => {
    const { server, client } = await connected('websocket');
    const gone = new Promise<void>((resolve) => server.once('disconnect', () => resolve()));
    client.disconnect();
    await gone;
    const closed = new Promise<void>((resolve) => (server.conn.readyState === 'closed' ? resolve() : server.conn.once('close', () => resolve())));
    await closed;
    expect(directSocket(server.conn)).toBeNull();
    const packet = new SharedPacket('2["hello",{"n":1}]');
    expect(() => packet.send(server.conn)).not.toThrow();
    expect(packet.viaEngine).toBe(1);
    expect(packet.direct).toBe(0);
  });

  it('a connection that is closing has no direct socket, and sending does not throw', async () => {
    const { server } = await connected('websocket');
    server.disconnect(true);
    expect(directSocket(server.conn)).toBeNull();
    const packet = new SharedPacket('2["hello",{"n":1}]');
    expect(() => packet.send(server.conn)).not.toThrow();
    expect(packet.direct).toBe(0);
  });
});

// ------------------------------------------------------------------ writeFrame on plain TCP

let tcpServers: TcpServer[] = [];
let tcpSockets: TcpSocket[] = [];

afterEach(async () => {
  for (const socket of tcpSockets) socket.destroy();
  await Promise.all(tcpServers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  tcpServers = [];
  tcpSockets = [];
});

/** A loopback TCP connection: `sender` is the server's side (what writeFrame writes to), `receiver` the client's. */
async function tcpPair(): Promise<{ sender: TcpSocket; receiver: TcpSocket }> {
  const server = createTcpServer();
  tcpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<TcpSocket>((resolve) => server.once('connection', resolve));
  const receiver = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
  tcpSockets.push(receiver);
  await new Promise<void>((resolve, reject) => {
    receiver.once('connect', resolve);
    receiver.once('error', reject);
  });
  const sender = await accepted;
  tcpSockets.push(sender);
  return { sender, receiver };
}

/** Resolves with everything `socket` receives until it has `bytes` bytes. */
function receiveBytes(socket: TcpSocket, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const on = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) {
        socket.off('data', on);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', on);
  });
}

/** A frame-sized buffer whose every byte says which frame it belongs to and where, so a reordering or a gap shows. */
function numbered(index: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32BE((index << 20) | (i >> 2), i);
  return b;
}

describe('writeFrame: one write(2) on the descriptor, the stream for the rest', () => {
  it('a connected TCP socket has a descriptor, and a frame written to it skips the stream (canary for _handle.fd)', async () => {
    const { sender, receiver } = await tcpPair();
    expect(plainFd(sender), 'no _handle.fd on a connected TCP socket: did Node rename it?').toEqual(expect.any(Number));
    const frame = websocketFrame('2["hello",1]');
    const got = receiveBytes(receiver, frame.length);
    writeFrame(sender, frame);
    expect(sender.writableLength).toBe(0);
    expect(sender.bytesWritten, 'the stream wrote nothing: the frame went to the descriptor').toBe(0);
    expect((await got).equals(frame)).toBe(true);
  });

  it('a full send buffer (a student not reading): what the kernel did not take goes through the stream, and every byte arrives in order', async () => {
    const { sender, receiver } = await tcpPair();
    receiver.pause();
    const size = 64 * 1024;
    const frames: Buffer[] = [];
    // Until the kernel's buffers are full and the stream holds the rest (bounded: loopback buffers are a few MB).
    for (let i = 0; i < 2000 && sender.writableLength === 0; i++) {
      frames.push(numbered(i, size));
      writeFrame(sender, frames[i]!);
    }
    expect(sender.writableLength, 'the send buffer never filled').toBeGreaterThan(0);
    const queued = sender.bytesWritten;
    // Later frames wait behind what the stream holds.
    for (let k = 0; k < 3; k++) {
      const frame = numbered(frames.length, size);
      frames.push(frame);
      writeFrame(sender, frame);
    }
    expect(sender.bytesWritten - queued, 'frames after a partial write go through the stream').toBeGreaterThan(0);
    const all = Buffer.concat(frames);
    const got = receiveBytes(receiver, all.length);
    receiver.resume();
    const received = await got;
    expect(received.length).toBe(all.length);
    expect(received.equals(all)).toBe(true);
  });

  it('no descriptor to write to: a TLS socket (its bytes must be encrypted), a socket not connected', () => {
    const tls = Object.assign(new TcpSocket(), { encrypted: true });
    expect(plainFd(tls)).toBeNull();
    expect(plainFd(new TcpSocket())).toBeNull();
  });

  it('a peer that reset the connection: writing does not throw, the stream reports the error', async () => {
    const { sender, receiver } = await tcpPair();
    const failed = new Promise<void>((resolve) => {
      sender.once('error', () => resolve());
      sender.once('close', () => resolve());
    });
    const reset = new Promise<void>((resolve) => sender.once('end', () => resolve()).once('error', () => resolve()));
    receiver.resetAndDestroy();
    await reset;
    expect(() => {
      for (let i = 0; i < 3; i++) writeFrame(sender, websocketFrame('2["late",1]'));
    }).not.toThrow();
    await failed;
  });
});
