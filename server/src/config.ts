/** Configuration from the environment, parsed by zod with messages an operator can act on. */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

export const ConfigSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** Without it the server runs on the embedded in-memory store (one process). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, { error: 'REDIS_URL must be a URL like redis://127.0.0.1:6379 (or rediss:// for TLS)' })
    .optional(),
  /** The instructor password. Unset in development: one is generated and printed at start. */
  QUIZROOM_HOST_PASSWORD: z.string().min(8, { error: 'QUIZROOM_HOST_PASSWORD needs at least 8 characters' }).optional(),
  /** Public base URL used in join links and QR codes (e.g. https://quiz.example.edu). */
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, { error: 'PUBLIC_URL must be a URL like https://quiz.example.edu' })
    .optional(),
  /** Extra browser origins allowed to open sockets (comma-separated); the server's own host is always allowed. */
  ALLOWED_ORIGINS: z.string().optional().transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [])),
  /** Days a finished session's results are kept. */
  RESULTS_RETENTION_DAYS: z.coerce.number().min(1).max(365).default(30),
  /** Serve cookies with the Secure flag (set behind HTTPS). */
  COOKIE_SECURE: bool.default(false),
  /** Trust X-Forwarded-For from this many proxies (for per-IP rate limits behind a proxy). */
  TRUST_PROXY: z.coerce.number().int().min(0).max(5).default(0),
  /** Join attempts per client IP: burst, then per second (a class behind one NAT joins at once). */
  LIMIT_JOIN_BURST: z.coerce.number().int().min(1).max(100_000).default(100),
  LIMIT_JOIN_PER_SEC: z.coerce.number().min(0.01).max(10_000).default(10),
  /** Handshakes with a wrong join code per client IP: burst, then per second (code probing). */
  LIMIT_BAD_CODE_BURST: z.coerce.number().int().min(1).max(100_000).default(10),
  LIMIT_BAD_CODE_PER_SEC: z.coerce.number().min(0.01).max(10_000).default(0.5),
  /** Events per student or display socket: burst, then per second (answers, justifications, syncs). */
  LIMIT_EVENT_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  LIMIT_EVENT_PER_SEC: z.coerce.number().min(0.01).max(10_000).default(10),
  /**
   * Events per host socket: burst, then per second. Generous (the console grades whole groups
   * at once), but a stolen or buggy host tab cannot flood the server: a socket refused 100
   * times is disconnected, like a student's.
   */
  LIMIT_HOST_EVENT_BURST: z.coerce.number().int().min(1).max(100_000).default(300),
  LIMIT_HOST_EVENT_PER_SEC: z.coerce.number().min(0.01).max(10_000).default(100),
  /** Failed logins per client IP: burst, then per second. */
  LIMIT_LOGIN_BURST: z.coerce.number().int().min(1).max(10_000).default(5),
  LIMIT_LOGIN_PER_SEC: z.coerce.number().min(0.001).max(1000).default(1 / 12),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
});
export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
