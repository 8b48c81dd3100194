/** `npm start`: one Quizroom process, configured from the environment. */
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startQuizroom } from './server.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL);
  const server = await startQuizroom({ config, logger });
  // Handlers first, banner second: whoever waits for the banner (a supervisor, a test) may
  // send SIGTERM the instant it appears, and that must already be a graceful close.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const base = config.PUBLIC_URL?.replace(/\/$/, '') ?? `http://localhost:${server.port}`;
  const lines = [
    '',
    `Quizroom is running on ${server.storeKind === 'redis' ? 'Redis (' + new URL(config.REDIS_URL!).host + ')' : 'the embedded in-memory store (single process; sessions are lost on restart — set REDIS_URL to keep them)'}.`,
    `  Instructor console: ${base}/host`,
    `  Students join at:   ${base}/  (or scan the QR code on the display)`,
    `  Display (projector): opened from the console, ${base}/display/<code>`,
    server.passwordGenerated
      ? `  Instructor password (generated for this run; set QUIZROOM_HOST_PASSWORD to choose one): ${server.password}`
      : '  Instructor password: from QUIZROOM_HOST_PASSWORD',
    '',
  ];
  // Printed once to the terminal, like Jupyter's token; never written to the structured log.
  process.stdout.write(lines.join('\n') + '\n');
  logger.info({ port: server.port, store: server.storeKind }, 'listening');
}

void main().catch((err) => {
  console.error('Quizroom failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
