/**
 * A minimal WebSocket client (RFC 6455) straight on `net`, for the bench's bulk students.
 *
 * The `ws` client opens each connection through Node's HTTP client (ClientRequest, an agent,
 * an HTTP parser for the 101, a random key and its SHA-1 check) and frames every message
 * with a random mask: ~1.4 ms of generator CPU per joining student on the reference machine,
 * as much as the server spends admitting them, on the same two cores. This client writes a
 * fixed upgrade request, checks the 101 status line, and parses unmasked server frames in
 * place; what it sends is masked with an all-zero key (a valid key that leaves the payload
 * unchanged: the server unmasks as usual, the client copies nothing). It is a load generator,
 * not a browser: no extensions, no UTF-8 validation, no redirects, 127.0.0.1 only.
 *
 * The subset of `ws`'s API RawClient uses: `send(text)`, `close()`, `terminate()`,
 * `readyState`, and the events `open`, `message` (a Buffer per text message, valid only during
 * the call: it may be a view of the buffer every connection reads into), `error`, `close`.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * Every connection of the process reads into this one buffer (net's `onread`): no Buffer
 * allocated per read, no stream machinery ('data' events, the next-tick read-ahead), about
 * a quarter less generator CPU per message received. What is read is handled before the
 * next read, and whatever must outlive it (a partial frame, fragments) is copied out.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Any 16 bytes, base64: the server only echoes its hash back, which this client does not check. */
const KEY = 'cXVpenJvb20tYmVuY2gxMg==';
const HEADER_END = Buffer.from('\r\n\r\n');

export class MiniWebSocket extends EventEmitter {
  static readonly OPEN = OPEN;
  readyState = CONNECTING;
  private readonly socket: Socket;
  private pending: Buffer | null = null;
  private upgraded = false;
  /** Fragments of a message split over several frames (servers rarely do this). */
  private fragments: Buffer[] | null = null;
  private closeEmitted = false;

  constructor(url: string, handshakeTimeoutMs = 30_000) {
    super();
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') throw new Error(`the bench only talks to 127.0.0.1 (got ${u.hostname})`);
    const socket = connect({
      host: '127.0.0.1',
      port: Number(u.port),
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number) => {
          this.onData(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    this.socket = socket;
    socket.setTimeout(handshakeTimeoutMs, () => {
      if (!this.upgraded) this.fail(new Error('opening handshake has timed out'));
    });
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => this.onSocketClose());
  }

  send(text: string): void {
    if (this.readyState !== OPEN) return;
    this.socket.write(frame(0x1, text));
  }

  /** Close handshake: a close frame, then the TCP connection is ended once the server answers (or at once if it is gone). */
  close(): void {
    if (this.readyState !== OPEN) return this.terminate();
    this.readyState = CLOSING;
    this.socket.write(frame(0x8, ''));
    this.socket.end();
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.emit('error', err);
    this.terminate();
  }

  /** `chunk` is a view of the shared READ_BUFFER: nothing of it is kept without a copy. */
  private onData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    if (!this.upgraded) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        this.pending = Buffer.from(buf);
        return;
      }
      // "HTTP/1.1 101 Switching Protocols"
      if (buf[9] !== 0x31 || buf[10] !== 0x30 || buf[11] !== 0x31) {
        this.fail(new Error(`unexpected server response: ${buf.subarray(0, Math.min(end, 80)).toString('latin1').split('\r\n')[0]}`));
        return;
      }
      this.upgraded = true;
      this.socket.setTimeout(0);
      this.readyState = OPEN;
      this.emit('open');
      buf = buf.subarray(end + 4);
    }
    let at = 0;
    while (this.readyState !== CLOSED && buf.length - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
        head = 10;
      }
      if (b1 & 0x80) return this.fail(new Error('the server masked a frame'));
      if (buf.length - at < head + len) break;
      const payload = buf.subarray(at + head, at + head + len);
      at += head + len;
      this.onFrame(b0 & 0x80, b0 & 0x0f, payload);
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private onFrame(fin: number, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x1: // text
      case 0x2: // binary
        if (fin) this.emit('message', payload);
        else this.fragments = [Buffer.from(payload)];
        return;
      case 0x0: // continuation
        if (!this.fragments) return this.fail(new Error('continuation without a first frame'));
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          this.emit('message', whole);
        }
        return;
      case 0x8: // close: answer it (if we did not start it) and end
        if (this.readyState === OPEN) {
          this.readyState = CLOSING;
          this.socket.write(frame(0x8, ''));
        }
        this.socket.end();
        return;
      case 0x9: // ping
        this.socket.write(frame(0xa, payload.toString('latin1'), 'latin1'));
        return;
      default: // pong and reserved opcodes: nothing to do
        return;
    }
  }

  private onSocketClose(): void {
    this.readyState = CLOSED;
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}

/** A final client frame with an all-zero masking key (RFC 6455 §5.3: the payload is XORed with 0, i.e. unchanged). */
function frame(opcode: number, text: string, encoding: BufferEncoding = 'utf8'): Buffer {
  const len = Buffer.byteLength(text, encoding);
  const head = len < 126 ? 6 : len < 65_536 ? 8 : 14;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  out.writeUInt32BE(0, head - 4); // the masking key
  out.write(text, head, encoding);
  return out;
}
