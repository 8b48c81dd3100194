/**
 * The last stretch of a send to thousands of sockets, done once instead of once per socket.
 *
 * `socket.emit` (and `conn.write`) walks Engine.IO's packet objects, events, write buffer and
 * drain bookkeeping and ws's framing for every recipient: about as much CPU again as the
 * `write()` syscall itself (docs/performance.md, "broadcast cost"). Where a student's
 * connection is a plain WebSocket with nothing queued in Engine.IO or ws, the very bytes ws
 * would produce — one unmasked text frame carrying the Engine.IO message `4<packet>` — are
 * written straight to its TCP socket (one write(2) on its descriptor: `writeFrame`). Anything else (HTTP long-polling, an upgrade in
 * progress, packets waiting in Engine.IO's buffer or ws's queue, a closing socket) takes the
 * normal path, so the order of messages on a connection is always kept: bytes reach the TCP
 * socket only after everything Engine.IO and ws had already handed to it.
 *
 * This reads engine.io 6 / ws 8 internals (`transport.socket._socket`, `_sender._queue`) and
 * the TCP socket's file descriptor (`_handle.fd`); every one is checked before use, and
 * `direct-write.test.ts` fails if an upgrade changes them.
 */
import { writeSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { Socket as TcpSocket } from 'node:net';

/** What this module reads of an Engine.IO connection (engine.io `Socket`). */
export interface EngineConnection {
  write(data: string): unknown;
  flush?: () => void;
  readyState?: string;
  upgrading?: boolean;
  writeBuffer?: unknown[];
  transport?: {
    name?: string;
    socket?: {
      readyState?: number;
      _socket?: TcpSocket;
      _sender?: { _state?: number; _queue?: unknown[] };
    };
  };
}

const WS_OPEN = 1;
/** ws Sender's idle state (not deflating, not reading a Blob). */
const SENDER_IDLE = 0;

/**
 * The WebSocket frame ws sends for the Engine.IO message of this Socket.IO packet: FIN + text
 * opcode, no mask (server to client), no extension (per-message deflate is off), payload
 * `4` + packet.
 */
export function websocketFrame(socketIoPacket: string): Buffer {
  const payload = Buffer.byteLength(socketIoPacket) + 1;
  const header = payload < 126 ? 2 : payload < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + payload);
  frame[0] = 0x81;
  if (payload < 126) frame[1] = payload;
  else if (payload < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(payload, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(payload, 6);
  }
  frame[header] = 0x34; // '4': Engine.IO "message"
  frame.write(socketIoPacket, header + 1, 'utf8');
  return frame;
}

/** Anything with Engine.IO's `write`; the internals are looked up, not trusted. */
export type Writable = { write(data: string): unknown };

/** The TCP socket under this connection if nothing is queued ahead of a write to it; else null. */
export function directSocket(connection: Writable): TcpSocket | null {
  const conn = connection as EngineConnection;
  if (conn.readyState !== 'open' || conn.upgrading !== false || conn.writeBuffer?.length !== 0) return null;
  const transport = conn.transport;
  if (transport?.name !== 'websocket') return null;
  const ws = transport.socket;
  if (ws?.readyState !== WS_OPEN) return null;
  const sender = ws._sender;
  if (sender?._state !== SENDER_IDLE || sender._queue?.length !== 0) return null;
  const tcp = ws._socket;
  if (!tcp || tcp.destroyed || !tcp.writable) return null;
  return tcp;
}

/** The socket's file descriptor if bytes written to it go out as they are (a plain TCP socket); else null. */
export function plainFd(tcp: TcpSocket): number | null {
  // A TLS socket's bytes must go through its encryption, never to the descriptor.
  if ((tcp as { encrypted?: boolean }).encrypted === true) return null;
  const fd = (tcp as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * One frame to a TCP socket nothing is queued on: a single write(2) on its descriptor, the
 * rest (what a full send buffer — a slow student — did not take) through the stream.
 *
 * `tcp.write` costs a write request object, the stream's bookkeeping and a callback on the
 * next tick per write: in a question fan-out to 2,000 students that was a quarter of the
 * server's main thread (docs/performance.md, round 4). Where the stream holds anything (a
 * write in progress, corked data) or there is no descriptor (Windows, TLS), the frame takes
 * `tcp.write`, behind what is queued, so the bytes on the connection stay in order.
 */
export function writeFrame(tcp: TcpSocket, frame: Buffer): void {
  const fd = tcp.writableLength === 0 && tcp.writableCorked === 0 ? plainFd(tcp) : null;
  if (fd === null) {
    tcp.write(frame);
    return;
  }
  let written = 0;
  try {
    written = writeSync(fd, frame);
  } catch {
    // EAGAIN (the send buffer is full) or a broken connection: the stream queues the frame, or reports the error and closes.
  }
  if (written < frame.length) tcp.write(written === 0 ? frame : frame.subarray(written));
}

/** How many sends went straight to the TCP socket, and how many through Engine.IO. */
export interface WriteCounts {
  direct: number;
  viaEngine: number;
}

/**
 * One Socket.IO packet for many connections: framed once (on the first direct write) and
 * written straight to each connection's TCP socket, or through Engine.IO where that is not
 * safe. Counts both ways into `counts` (a process-wide tally, or its own).
 */
export class SharedPacket {
  private frame: Buffer | null = null;

  constructor(
    readonly packet: string,
    readonly counts: WriteCounts = { direct: 0, viaEngine: 0 },
  ) {}

  get direct(): number {
    return this.counts.direct;
  }

  get viaEngine(): number {
    return this.counts.viaEngine;
  }

  send(conn: Writable): void {
    const tcp = directSocket(conn);
    if (!tcp) {
      this.counts.viaEngine++;
      conn.write(this.packet);
      return;
    }
    this.counts.direct++;
    writeFrame(tcp, (this.frame ??= websocketFrame(this.packet)));
  }
}

/**
 * Packets a connection gets in one turn of the event loop leave in one `write()`.
 *
 * Engine.IO writes a packet the moment it is emitted when the transport is idle, and queues
 * the ones emitted before that write completes for one more write on the next tick; ws then
 * writes each queued packet as its own frame, one system call each. A joining student gets
 * the Socket.IO CONNECT and the first latency probe in one turn, and the join ack and their
 * first view in another: four system calls, two with this (a loopback `write()` costs 10–70 µs
 * of server CPU on the reference machine, docs/performance.md). Here Engine.IO's `flush` runs
 * once per tick per connection instead of once per packet, and the TCP socket is corked while
 * it hands the batch to ws, so the frames go out together. Order is unchanged: the same
 * buffer, flushed a few microseconds later.
 */
export function coalesceWrites(connection: Writable): void {
  const conn = connection as EngineConnection;
  const flush = conn.flush;
  if (typeof flush !== 'function' || Object.hasOwn(conn, 'flush')) return;
  let scheduled = false;
  const flushBatch = () => {
    scheduled = false;
    const tcp = conn.transport?.name === 'websocket' ? conn.transport.socket?._socket : undefined;
    const cork = tcp !== undefined && !tcp.destroyed && (conn.writeBuffer?.length ?? 0) > 1;
    if (cork) tcp.cork();
    try {
      flush.call(conn);
    } finally {
      if (cork) tcp.uncork();
    }
  };
  conn.flush = () => {
    if (scheduled) return;
    scheduled = true;
    process.nextTick(flushBatch);
  };
}

/**
 * The HTTP 101 that accepts a WebSocket and Engine.IO's open packet leave in one write.
 *
 * ws writes the 101 response and Engine.IO then sends its open packet on the new connection,
 * in the same turn of the event loop: two system calls per connecting student, one with this.
 * The TCP socket of every upgrade request is corked before Engine.IO sees the request and
 * uncorked on the next tick (also when the request is refused: then nothing was written).
 */
export function corkUpgrades(httpServer: HttpServer): void {
  httpServer.prependListener('upgrade', (_req, socket) => {
    if (!(socket instanceof TcpSocket)) return;
    socket.cork();
    process.nextTick(() => socket.uncork());
  });
}
