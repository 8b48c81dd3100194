export * from './state.ts';
export * from './commands.ts';
export * from './reducer.ts';
export * from './scoring.ts';
export * from './ranking.ts';
export * from './projections.ts';
export { presentationOrder } from './rng.ts';
