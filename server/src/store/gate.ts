/**
 * The gate is the small, hot mirror of the session core that the atomic store operations
 * (join, answer) check without loading the session. Both stores derive it from the core
 * with this one function, so they cannot disagree about what "open" means.
 */
import type { SessionCore } from '../engine/state.ts';
import type { Gate } from './types.ts';

/**
 * Derives the gate from a session core. `seal` is always null: a seal only exists between
 * `acquireLease(…, sealStep)` and the next commit or release.
 *
 * `deadline` is the open question's deadline while it runs, and null otherwise (no question
 * open, or paused: a paused question has no deadline until it resumes). That is exactly
 * what a process restarting deadline timers needs.
 */
export function gateOf(core: SessionCore): Gate {
  const cur = core.current;
  const paused = cur !== null && cur.pausedRemainingMs !== null;
  return {
    step: core.step,
    phase: core.phase,
    questionId: cur?.questionId ?? null,
    deadline: core.phase === 'open' && cur !== null && !paused ? cur.deadline : null,
    paused,
    locked: core.locked,
    allowLateJoin: core.options.allowLateJoin,
    maxPlayers: core.options.maxPlayers,
    seal: null,
  };
}

/** The gate check of an answer: open for `step`, for that question, not sealed, not paused. */
export function gateAccepts(gate: Gate, step: number, questionId: string): boolean {
  return gate.phase === 'open' && gate.step === step && gate.questionId === questionId && gate.seal !== step && !gate.paused;
}
