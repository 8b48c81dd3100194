/**
 * The client's IP for per-IP limits. Behind `trustProxy` proxies, the address that the
 * nearest trusted proxy saw is the `trustProxy`-th entry from the right of X-Forwarded-For;
 * anything further left is client-supplied and not trusted.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: number): string {
  const remote = remoteAddress ?? 'unknown';
  if (trustProxy <= 0 || !forwardedFor) return remote;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return hops[Math.max(0, hops.length - trustProxy)] ?? remote;
}
