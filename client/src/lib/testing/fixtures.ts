/** Example views for the unit tests. */
import type { DisplayView, GradingItem, HostView, PublicQuestion, StudentView } from '@quizroom/shared';

export const CODE = '123456';
export const TOKEN = 'player-token-0123456789abcdef';
export const HOST_TOKEN = 'host-token-0123456789abcdefghij';

export const singleQ: PublicQuestion = {
  id: 'q-vm',
  index: 0,
  total: 3,
  type: 'single',
  prompt: 'What does a hypervisor virtualise?',
  timeLimitMs: 20_000,
  points: 1000,
  difficulty: 'easy',
  choices: ['Hardware', 'The kernel', 'Applications', 'Networks'],
  justify: { prompt: 'Why?', maxLength: 400 },
};

export const openQ: PublicQuestion = {
  id: 'q-open',
  index: 1,
  total: 3,
  type: 'open',
  prompt: 'What would you propose to a fintech company?',
  timeLimitMs: 180_000,
  points: 1000,
  difficulty: 'hard',
  maxLength: 800,
};

export function studentView(over: Partial<StudentView> = {}): StudentView {
  return {
    role: 'student',
    code: CODE,
    phase: 'lobby',
    step: 0,
    me: { playerId: 'p1', nickname: 'Ada', score: 0, rank: null, streak: 0, consent: false },
    playerCount: 1,
    question: null,
    deadline: null,
    pausedRemainingMs: null,
    myAnswer: null,
    reveal: null,
    grades: [],
    leaderboard: null,
    final: null,
    serverNow: 1_000_000,
    ...over,
  };
}

export function hostView(over: Partial<HostView> = {}): HostView {
  return {
    role: 'host',
    code: CODE,
    bankId: 'vm-basics',
    bankTitle: 'Machines, VMs and containers',
    phase: 'lobby',
    step: 0,
    locked: false,
    options: { scoring: 'speed', streak: true, timeMultiplier: 1, allowLateJoin: true, gradedPointsLive: true, nicknamePolicy: 'free' },
    players: [
      { playerId: 'p1', nickname: 'Ada', score: 0, gradedPoints: 0, streak: 0, connected: true, answeredCurrent: false },
      { playerId: 'p2', nickname: 'Linus', score: 0, gradedPoints: 0, streak: 0, connected: true, answeredCurrent: false },
    ],
    questions: [
      { id: 'q-vm', index: 0, type: 'single', prompt: singleQ.prompt, hasRubric: true, rubric: [{ id: 'why', label: 'Justifies', points: 2, description: 'Says why.' }] },
      { id: 'q-open', index: 1, type: 'open', prompt: openQ.prompt, hasRubric: true, rubric: null },
    ],
    questionIndex: -1,
    question: null,
    deadline: null,
    pausedRemainingMs: null,
    distribution: null,
    leaderboard: [],
    spotlight: null,
    serverNow: 1_000_000,
    ...over,
  };
}

export function displayView(over: Partial<DisplayView> = {}): DisplayView {
  return {
    role: 'display',
    code: CODE,
    phase: 'lobby',
    step: 0,
    locked: false,
    playerCount: 0,
    recentNicknames: [],
    question: null,
    deadline: null,
    pausedRemainingMs: null,
    answeredCount: 0,
    distribution: null,
    solution: null,
    explanation: null,
    leaderboard: null,
    podium: null,
    spotlight: null,
    serverNow: 1_000_000,
    ...over,
  };
}

export function gradingItem(over: Partial<GradingItem> = {}): GradingItem {
  return {
    questionId: 'q-open',
    playerId: 'p1',
    nickname: 'Ada',
    kind: 'open',
    text: 'Containers share the host kernel.',
    answerSummary: null,
    textVersion: 1,
    grade: null,
    ...over,
  };
}
