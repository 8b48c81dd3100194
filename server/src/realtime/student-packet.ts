/**
 * Personal student views of one state, encoded as the Socket.IO packet
 * `socket.emit('student:view', view)` would send: `2["student:view",{…}]`.
 *
 * At a reveal every student of a lecture hall gets their own ~1 KB view, of which the larger
 * part (the question, the solution and its explanation, the top 10) is the same for all of
 * them. Those parts are JSON-encoded once per broadcast and spliced into each student's
 * packet; only the student's own fields are encoded per student. The result is the very
 * string `JSON.stringify` gives (student-packet.test.ts checks it over fuzzed game states),
 * so the client cannot tell the difference.
 */
import type { StudentView } from '@quizroom/shared';
import type { StudentViewShared } from '../engine/index.ts';

const json = (value: unknown): string => JSON.stringify(value) ?? 'null';

export class StudentPacketEncoder {
  /** Shared values (by reference; the explanation by value) → their JSON. */
  private readonly encoded = new Map<unknown, string>();

  constructor(private readonly shared: StudentViewShared | null = null) {}

  /** The JSON of a value every view shares, encoded on first use; anything else is encoded as usual. */
  private common(value: unknown, isShared: boolean): string {
    if (value === null || !isShared) return json(value);
    let s = this.encoded.get(value);
    if (s === undefined) this.encoded.set(value, (s = json(value)));
    return s;
  }

  /**
   * `2["student:view",<view>]`. The keys are written in the order `studentView` creates them
   * (the order JSON.stringify follows); the test fails if a field is added on one side only.
   */
  packet(v: StudentView): string {
    const shared = this.shared;
    const question = this.common(v.question, v.question === shared?.question);
    let reveal = 'null';
    if (v.reveal) {
      const solution = this.common(v.reveal.solution, v.reveal.solution === shared?.solution);
      reveal = `{"solution":${solution},"explanation":${this.common(v.reveal.explanation, true)},"result":${json(v.reveal.result)}}`;
    }
    const leaderboard = this.common(v.leaderboard, v.leaderboard === shared?.leaderboard);
    return (
      `2["student:view",{"role":${json(v.role)},"code":${json(v.code)},"phase":${json(v.phase)},"step":${json(v.step)},` +
      `"me":${json(v.me)},"playerCount":${json(v.playerCount)},"question":${question},` +
      `"deadline":${json(v.deadline)},"pausedRemainingMs":${json(v.pausedRemainingMs)},"myAnswer":${json(v.myAnswer)},` +
      `"reveal":${reveal},"grades":${json(v.grades)},"leaderboard":${leaderboard},"final":${json(v.final)},"serverNow":${json(v.serverNow)}}]`
    );
  }
}
