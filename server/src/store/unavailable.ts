/**
 * Is this error the store being unreachable (Redis down, restarting, connection lost)?
 * Such failures are reported to clients as the retryable UNAVAILABLE, never as success.
 */
const UNAVAILABLE_NAMES = new Set(['ClientOfflineError', 'ClientClosedError', 'SocketClosedUnexpectedlyError', 'ConnectionTimeoutError', 'ReconnectStrategyError']);

export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNAVAILABLE_NAMES.has(err.name) || UNAVAILABLE_NAMES.has(err.constructor.name)) return true;
  return /offline|client is closed|socket closed|ECONNREFUSED|ECONNRESET|LOADING|connection/i.test(err.message);
}
