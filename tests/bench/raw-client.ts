/**
 * A minimal Engine.IO v4 + Socket.IO v5 client over a minimal WebSocket client
 * (`mini-websocket.ts`, straight on `net`), for the bulk students of the
 * bench. socket.io-client spends ~20 µs per received message (decoding, emitter, acks);
 * on 2 cores that would make the generator the bottleneck. This client only looks at the
 * first bytes of a message and JSON-parses nothing it does not need.
 *
 * Wire format (websocket transport only, no binary, no polling):
 *   server → `0{"sid",…,"pingInterval",…}`  Engine.IO open
 *   client → `40{auth}`                      Socket.IO CONNECT to "/" with handshake auth
 *   server → `40{"sid":…}` | `44{error}`     connected | connect error (middleware refused)
 *   server → `2`, client → `3`               Engine.IO ping / pong (the server pings)
 *   client → `42<id>["event",payload]`       event with an ack request
 *   server → `43<id>[ack]`                   the ack
 *   server → `42["event",payload]`           event
 *   server → `42<id>["latency:ping",ts]`     event with an ack request: answered `43<id>[ts]`
 *   server → `41` / `1`                      Socket.IO disconnect / Engine.IO close
 */
import { MiniWebSocket as WebSocket } from './mini-websocket.ts';
import { now } from './clock.ts';

export interface AckResult {
  ok: boolean;
  /** Error code from `{ ok: false, error: { code } }`, or TIMEOUT / CLOSED. */
  code: string | null;
  /** The ack's JSON array as sent by the server (parse it only if you need it). */
  raw: string;
  sentAt: number;
  ackAt: number | null;
}

export interface RawClientOptions {
  /** ws://127.0.0.1:PORT */
  url: string;
  auth: Record<string, unknown>;
  /** Called for every server event (`42[…`) the client does not handle itself, with its receive time. */
  onEvent?: (message: string, t: number) => void;
  /** An unexpected close (not asked for by drop()/close()). */
  onUnexpectedClose?: (reason: string) => void;
}

export function socketUrl(httpUrl: string): string {
  const u = new URL(httpUrl);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`the bench only talks to 127.0.0.1 (got ${u.hostname})`);
  return `ws://127.0.0.1:${u.port}/socket.io/?EIO=4&transport=websocket`;
}

/**
 * Like socket.io-client, a client gives up on a server that has not pinged it for
 * pingInterval + pingTimeout (a blocked server event loop): one sweep per process, not a
 * timer per client.
 */
const liveClients = new Set<RawClient>();
let sweeper: NodeJS.Timeout | null = null;
function watchPings(client: RawClient): void {
  liveClients.add(client);
  sweeper ??= setInterval(() => {
    const t = now();
    for (const c of liveClients) c.checkPing(t);
  }, 1000).unref();
}

export class RawClient {
  ws: WebSocket | null = null;
  connected = false;
  /** Unexpected closes and server-side disconnects. */
  disconnects = 0;
  lastError: string | null = null;
  private ackSeq = 0;
  private readonly pending = new Map<number, (raw: string, t: number) => void>();
  private intentional = false;
  /** The server sent `41` (already counted as a disconnect). */
  private serverLeft = false;
  private connectWaiter: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** From the Engine.IO open packet. */
  private pingDeadlineMs = 45_000;
  private lastPingAt = 0;

  constructor(private opts: RawClientOptions) {}

  set auth(auth: Record<string, unknown>) {
    this.opts = { ...this.opts, auth };
  }

  /** Opens the WebSocket and completes the Socket.IO CONNECT; resolves on `40{sid}`. */
  connect(timeoutMs: number): Promise<void> {
    this.intentional = false;
    this.serverLeft = false;
    this.connected = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connectWaiter = null;
        this.terminate();
        reject(new Error('connect timeout'));
      }, timeoutMs);
      this.connectWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const ws = new WebSocket(this.opts.url, timeoutMs);
      this.ws = ws;
      this.lastPingAt = now();
      watchPings(this);
      ws.on('message', (data: Buffer) => this.onMessage(ws, data));
      ws.on('error', (err: Error) => {
        this.lastError = err.message;
      });
      ws.on('close', () => this.onClose(ws));
    });
  }

  /** Sends `42<id>[event,payload]`; resolves with the ack (or TIMEOUT / CLOSED; never rejects). */
  request(event: string, payload: unknown, timeoutMs: number): Promise<AckResult> {
    const id = this.ackSeq++;
    const sentAt = now();
    const ws = this.ws;
    if (!ws || !this.connected) return Promise.resolve({ ok: false, code: 'CLOSED', raw: '', sentAt, ackAt: null });
    return new Promise<AckResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, code: 'TIMEOUT', raw: '', sentAt, ackAt: null });
      }, timeoutMs);
      this.pending.set(id, (raw, t) => {
        clearTimeout(timer);
        // `[{"ok":true,…}]`: no parse on the happy path.
        if (raw.startsWith('[{"ok":true')) return resolve({ ok: true, code: null, raw, sentAt, ackAt: t });
        let code = 'UNKNOWN';
        try {
          code = (JSON.parse(raw) as [{ error?: { code?: string } }])[0]?.error?.code ?? 'UNKNOWN';
        } catch {
          /* keep UNKNOWN */
        }
        resolve({ ok: false, code, raw, sentAt, ackAt: t });
      });
      ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  /** Called by the sweep: no ping for too long means the server is gone (socket.io-client: "ping timeout"). */
  checkPing(t: number): void {
    const ws = this.ws;
    if (!ws || !this.connected || t - this.lastPingAt <= this.pingDeadlineMs) return;
    this.lastError = 'ping timeout';
    ws.terminate(); // onClose counts it and calls onUnexpectedClose
  }

  /** Drops the connection like a network failure: no close handshake, no Socket.IO disconnect. */
  drop(): void {
    this.intentional = true;
    this.terminate();
  }

  /** Leaves cleanly (`41`, then the WebSocket close handshake). */
  close(): void {
    this.intentional = true;
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.send('41');
      ws.close();
    } else ws.terminate();
  }

  private terminate(): void {
    const ws = this.ws;
    this.connected = false;
    if (ws) ws.terminate();
  }

  private onMessage(ws: WebSocket, data: Buffer): void {
    const t = now();
    if (ws !== this.ws) return;
    const c0 = data[0];
    // Engine.IO ping: the cheapest and most frequent control packet.
    if (c0 === 0x32 /* 2 */ && data.length === 1) {
      this.lastPingAt = t;
      ws.send('3');
      return;
    }
    const s = data.toString();
    if (c0 === 0x34 /* 4: message */) {
      const c1 = s.charCodeAt(1);
      if (c1 === 0x32 /* 2: EVENT */) {
        if (s.charCodeAt(2) === 0x5b /* [ */) {
          this.opts.onEvent?.(s, t);
          return;
        }
        // An event with an ack request from the server: only latency:ping asks for one.
        const open = s.indexOf('[');
        const id = s.slice(2, open);
        if (s.startsWith('"latency:ping"', open + 1)) ws.send(`43${id}[${s.slice(s.indexOf(',', open) + 1, s.lastIndexOf(']'))}]`);
        else ws.send(`43${id}[]`);
        return;
      }
      if (c1 === 0x33 /* 3: ACK */) {
        const open = s.indexOf('[');
        const id = Number(s.slice(2, open));
        const cb = this.pending.get(id);
        if (cb) {
          this.pending.delete(id);
          cb(s.slice(open), t);
        }
        return;
      }
      if (c1 === 0x30 /* 0: CONNECT ok */) {
        this.connected = true;
        const w = this.connectWaiter;
        this.connectWaiter = null;
        w?.resolve();
        return;
      }
      if (c1 === 0x34 /* 4: CONNECT_ERROR */) {
        this.lastError = s.slice(2);
        const w = this.connectWaiter;
        this.connectWaiter = null;
        this.intentional = true;
        ws.terminate();
        w?.reject(new Error(`connect error: ${s.slice(2, 300)}`));
        return;
      }
      if (c1 === 0x31 /* 1: DISCONNECT by the server */) {
        this.disconnects++;
        this.serverLeft = true;
        this.lastError = 'server disconnect (41)';
        return;
      }
      return;
    }
    if (c0 === 0x30 /* 0: Engine.IO open */) {
      const open = JSON.parse(s.slice(1)) as { pingInterval?: number; pingTimeout?: number };
      this.pingDeadlineMs = (open.pingInterval ?? 25_000) + (open.pingTimeout ?? 20_000);
      this.lastPingAt = t;
      ws.send(`40${JSON.stringify(this.opts.auth)}`);
      return;
    }
    if (c0 === 0x31 /* 1: Engine.IO close */) {
      this.lastError = 'engine close (1)';
      return;
    }
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    liveClients.delete(this);
    const wasConnected = this.connected;
    this.connected = false;
    for (const [id, cb] of this.pending) {
      this.pending.delete(id);
      cb('[{"ok":false,"error":{"code":"CLOSED"}}]', now());
    }
    const w = this.connectWaiter;
    this.connectWaiter = null;
    if (w) {
      w.reject(new Error(`closed before connect${this.lastError ? `: ${this.lastError}` : ''}`));
      return;
    }
    if (!this.intentional && (wasConnected || this.serverLeft)) {
      if (!this.serverLeft) this.disconnects++;
      this.opts.onUnexpectedClose?.(this.lastError ?? 'closed');
    }
  }
}
