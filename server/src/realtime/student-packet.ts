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

/**
 * One run of the packet's text between two per-student fields, built from values that are
 * the same in every view of a broadcast (phase, step, question, deadline, top 10, server
 * time): encoded for the first view and again only when one of the values differs (compared
 * with ===; objects are the views' own, never changed once built).
 */
class Segment {
  private key: readonly unknown[] | null = null;
  private text = '';

  get(a: unknown, b: unknown, c: unknown, d: unknown, build: () => string): string {
    const k = this.key;
    if (k !== null && k[0] === a && k[1] === b && k[2] === c && k[3] === d) return this.text;
    this.key = [a, b, c, d];
    return (this.text = build());
  }
}

export class StudentPacketEncoder {
  /** Shared values (by reference; the explanation by value) → their JSON. */
  private readonly encoded = new Map<unknown, string>();
  private readonly head = new Segment();
  private readonly middle = new Segment();
  private readonly revealHead = new Segment();
  private readonly tail = new Segment();
  private readonly end = new Segment();

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
   * Per student only `me`, `myAnswer`, the result, `grades` and `final` are encoded.
   */
  packet(v: StudentView): string {
    const shared = this.shared;
    const head = this.head.get(v.role, v.code, v.phase, v.step, () => `2["student:view",{"role":${json(v.role)},"code":${json(v.code)},"phase":${json(v.phase)},"step":${json(v.step)},"me":`);
    const middle = this.middle.get(
      v.playerCount,
      v.question,
      v.deadline,
      v.pausedRemainingMs,
      () => `,"playerCount":${json(v.playerCount)},"question":${this.common(v.question, v.question === shared?.question)},"deadline":${json(v.deadline)},"pausedRemainingMs":${json(v.pausedRemainingMs)},"myAnswer":`,
    );
    let reveal = 'null';
    if (v.reveal) {
      const r = v.reveal;
      const revealHead = this.revealHead.get(
        r.solution,
        r.explanation,
        undefined,
        undefined,
        () => `{"solution":${this.common(r.solution, r.solution === shared?.solution)},"explanation":${this.common(r.explanation, true)},"result":`,
      );
      reveal = `${revealHead}${json(r.result)}}`;
    }
    const grades = v.grades.length === 0 ? '[]' : json(v.grades);
    const tail = this.tail.get(v.leaderboard, undefined, undefined, undefined, () => `,"leaderboard":${this.common(v.leaderboard, v.leaderboard === shared?.leaderboard)},"final":`);
    const end = this.end.get(v.serverNow, undefined, undefined, undefined, () => `,"serverNow":${json(v.serverNow)}}]`);
    return `${head}${json(v.me)}${middle}${json(v.myAnswer)},"reveal":${reveal},"grades":${grades}${tail}${json(v.final)}${end}`;
  }
}
