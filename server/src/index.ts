export { startQuizroom, type RunningServer, type StartOptions } from './server.ts';
export { loadConfig, ConfigSchema, type Config } from './config.ts';
export { GameService } from './game/service.ts';
export { buildResults, resultsCsv } from './game/results.ts';
export * from './store/types.ts';
