/** Structured logs (pino). Tokens, passwords and cookies are redacted wherever they appear. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Fields that hold secrets; pino's paths have no "any depth" wildcard, so each depth up to three is listed. */
const SECRET_FIELDS = ['token', 'hostToken', 'password', 'authorization', 'cookie'];
export const REDACTED_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.cookie',
  'req.headers.authorization',
];

/** `destination` (default stdout) lets tests read what would be written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
