export * from './question.ts';
export * from './answer.ts';
export * from './session.ts';
export * from './errors.ts';
export * from './nickname.ts';
export * from './profanity.ts';
export * from './events.ts';
export type * from './views.ts';
