/**
 * The classroom projector (`/display/:code`): read-only, follows `display:view`. Owns the
 * display socket; sends nothing but `display:sync`.
 */
import type { DisplayView } from '@quizroom/shared';
import { countdownAnnouncement } from './clock.ts';
import { LiveConnection, type LiveOptions } from './live.svelte.ts';
import { request, type QuizSocket } from './socket.ts';

export type DisplayScene = 'connecting' | 'lobby' | 'question' | 'results' | 'leaderboard' | 'podium' | 'spotlight';

export class DisplayState extends LiveConnection {
  readonly code: string;
  view = $state.raw<DisplayView | null>(null);
  readonly joinUrl: string;

  constructor(code: string, opts: LiveOptions & { origin?: string } = {}) {
    super(opts);
    this.code = code;
    const origin = opts.origin ?? (typeof location !== 'undefined' ? location.origin : '');
    this.joinUrl = `${origin}/join/${code}`;
  }

  connect(): void {
    this.openSocket({ role: 'display', code: this.code });
  }

  protected bind(socket: QuizSocket): void {
    socket.on('display:view', (v) => {
      if (this.socket !== socket) return;
      this.syncClock(v.serverNow);
      this.view = v;
    });
  }

  protected async heartbeat(socket: QuizSocket, timeoutMs: number): Promise<boolean> {
    const ack = await request(socket, 'display:sync', {}, timeoutMs);
    if (ack.ok && this.socket === socket) {
      this.syncClock(ack.data.serverNow);
      this.view = ack.data;
    }
    return ack.ok || ack.error.code !== 'UNAVAILABLE';
  }

  get phase() {
    return this.view?.phase ?? null;
  }
  get paused(): boolean {
    return this.view?.phase === 'open' && this.view.pausedRemainingMs !== null;
  }
  get remainingMs(): number | null {
    return this.countdown(this.view);
  }
  get countdownStatus(): string {
    return countdownAnnouncement(this.remainingMs, this.paused);
  }

  /** What the projector shows now. A spotlight takes the stage until it is cleared. */
  get scene(): DisplayScene {
    const v = this.view;
    if (!v) return 'connecting';
    if (v.spotlight) return 'spotlight';
    switch (v.phase) {
      case 'lobby':
        return 'lobby';
      case 'open':
        return 'question';
      case 'closed':
      case 'reveal':
        return 'results';
      case 'leaderboard':
        return 'leaderboard';
      case 'finished':
        return 'podium';
    }
  }

  async sync(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const ack = await request(socket, 'display:sync', {}, 10_000);
    if (ack.ok && this.socket === socket) {
      this.syncClock(ack.data.serverNow);
      this.view = ack.data;
    }
  }
}
