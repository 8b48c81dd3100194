/**
 * A Quizroom server in its own process, for fuzz-upload.test.ts: an upload that crashes the
 * process or blocks its event loop must not take the test runner with it, and must show as
 * what it is (a dead or unresponsive server).
 *
 * Started with `node --import tsx tests/hardening/fuzz-server-process.ts` and
 * QUIZROOM_HOST_PASSWORD in the environment. Prints one JSON line `{"type":"listening","url":…}`
 * on stdout; logs (pino, warn and above) go to stderr as JSON lines. IPC: `{type:'liveCodes'}`
 * → `{type:'liveCodes', codes}`.
 */
import { pino } from 'pino';
import { ConfigSchema } from '../../server/src/config.ts';
import { startQuizroom } from '../../server/src/server.ts';
import { fuzzBank, UNLIMITED } from './fuzz-helpers.ts';

const config = ConfigSchema.parse({
  PORT: '0',
  HOST: '127.0.0.1',
  QUIZROOM_HOST_PASSWORD: process.env.QUIZROOM_HOST_PASSWORD,
  LOG_LEVEL: 'warn',
  LIMIT_LOGIN_BURST: '10000',
  LIMIT_LOGIN_PER_SEC: '1000',
});
const logger = pino({ level: 'warn' }, pino.destination(2));
const server = await startQuizroom({ config, logger, clientDist: null, banks: [fuzzBank()], loginLimit: UNLIMITED, eventLimit: UNLIMITED });
process.stdout.write(JSON.stringify({ type: 'listening', url: server.url, pid: process.pid }) + '\n');

process.on('message', (msg: { type?: string }) => {
  if (msg?.type !== 'liveCodes') return;
  void server.service.store.liveCodes().then((codes) => process.send?.({ type: 'liveCodes', codes }));
});
const stop = () => void server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
