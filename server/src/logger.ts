/** Structured logs (pino). Tokens, passwords and cookies are redacted wherever they appear. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['*.token', '*.hostToken', '*.password', 'req.headers.cookie', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
