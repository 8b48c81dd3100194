/**
 * Leaderboard ranking, computed once per broadcast and shared by every projection
 * (computing it per student would cost O(N² log N) at reveal).
 */
import type { LeaderboardEntry } from '@quizroom/shared';
import type { GameState, Player } from './state.ts';

export interface Ranking {
  entries: LeaderboardEntry[];
  rankOf: Map<string, number>;
  totalOf: Map<string, number>;
}

/**
 * live: graded points count only when the session option says so (R3); final: always.
 * Equal totals share a rank (1, 2, 2, 4) in speed scoring; in accuracy scoring the total
 * time of correct answers breaks ties (SC11).
 */
export function computeRanking(state: GameState, mode: 'live' | 'final'): Ranking {
  const { options } = state.session;
  const countGraded = mode === 'final' || options.gradedPointsLive;
  const total = (p: Player) => p.score + (countGraded ? p.gradedPoints : 0);
  const players = Object.values(state.players).filter((p) => !p.kicked);
  const tieBreak = options.scoring === 'accuracy';
  players.sort((a, b) => total(b) - total(a) || (tieBreak ? a.totalTimeMs - b.totalTimeMs : 0) || a.joinedAt - b.joinedAt || (a.id < b.id ? -1 : 1));
  const entries: LeaderboardEntry[] = [];
  const rankOf = new Map<string, number>();
  const totalOf = new Map<string, number>();
  let rank = 0;
  players.forEach((p, i) => {
    const prev = players[i - 1];
    const tied = prev !== undefined && total(prev) === total(p) && (!tieBreak || prev.totalTimeMs === p.totalTimeMs);
    if (!tied) rank = i + 1;
    rankOf.set(p.id, rank);
    totalOf.set(p.id, total(p));
    entries.push({ playerId: p.id, nickname: p.nickname, score: total(p), rank, movement: p.previousRank === null ? 0 : p.previousRank - rank, streak: p.streak });
  });
  return { entries, rankOf, totalOf };
}
