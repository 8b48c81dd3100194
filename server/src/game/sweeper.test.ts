/**
 * The deadline sweeper's repair of a seal left by a process that died mid-command (ST22/ST23
 * are the store halves): answers are refused while the seal stands and flow again once the
 * sweep clears it, and the dead owner's late commit is refused.
 */
import { SessionOptions } from '@quizroom/shared';
import { describe, expect, it } from 'vitest';
import { testBank } from '../../../tests/support/quizroom.ts';
import type { Logger } from '../logger.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { GameService } from './service.ts';

describe('deadline sweeper', () => {
  it('clears a seal whose lease expired, so a session taken over after a crash accepts answers again', async () => {
    let now = 1_763_000_000_000;
    const clock = () => now;
    const store = new MemoryStore({ clock });
    let cleared!: () => void;
    const clearedLogged = new Promise<void>((resolve) => (cleared = resolve));
    const logger = {
      info: () => undefined,
      error: () => undefined,
      warn: (_obj: unknown, msg?: string) => {
        if (msg === 'cleared a seal whose lease expired') cleared();
      },
    } as unknown as Logger;
    const service = new GameService({ store, logger, clock, retentionSeconds: 60, onChange: () => undefined });
    try {
      const { code } = await service.createSession(testBank(), SessionOptions.parse({}));
      const joined = await service.join(code, 'Ada');
      if (!joined.ok) throw new Error(joined.error.message);
      const started = await service.command(code, { type: 'start', step: 0 });
      if (!started.ok) throw new Error(started.error.message);
      const step = started.data.step;
      const answer = {
        type: 'answer' as const,
        playerId: joined.data.playerId,
        questionId: 'q-single',
        answer: { type: 'single' as const, choice: 1 },
        timing: { sentAt: now, rttMs: 0 },
      };

      // Another process sealed the question for a close and died before commit or release.
      expect(await store.acquireLease(code, 'dead-process:cmd', now, 5000, step)).toBe(true);
      const refused = await service.studentCommand(code, answer);
      expect(refused.ok).toBe(false);

      now += 5000; // its lease expires (the question's own deadline is still 15 s away)
      service.startSweeper(3_600_000); // one sweep now; none while the test runs
      await clearedLogged;
      expect((await store.gate(code))!.seal).toBeNull();
      const accepted = await service.studentCommand(code, answer);
      expect(accepted.ok).toBe(true);
      const state = (await store.loadState(code))!;
      expect(await store.commit(code, 'dead-process:cmd', state, state)).toBe('lost-lease');
      expect(state.session.phase).toBe('open');
    } finally {
      service.stop();
      await store.close();
    }
  });
});
