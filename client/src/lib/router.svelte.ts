/**
 * A tiny router over `location.pathname` (the server serves index.html for every client route):
 *   /  and /join/:code      student (also /?code=123456)
 *   /host                   instructor console
 *   /host/:code             run a session
 *   /display/:code          classroom display
 */
export type Route =
  | { name: 'student'; code: string | null }
  | { name: 'console' }
  | { name: 'host'; code: string }
  | { name: 'display'; code: string }
  | { name: 'not-found'; path: string };

const CODE = /^\d{6}$/;

export function parseRoute(pathname: string, search = ''): Route {
  const parts = pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const [first, second, ...rest] = parts;
  if (rest.length > 0) return { name: 'not-found', path: pathname };
  if (first === undefined) {
    const code = new URLSearchParams(search).get('code')?.replace(/\D/g, '') ?? '';
    return { name: 'student', code: CODE.test(code) ? code : null };
  }
  if (first === 'join') {
    if (second === undefined) return { name: 'student', code: null };
    const code = second.replace(/\D/g, '');
    return { name: 'student', code: CODE.test(code) ? code : null };
  }
  if (first === 'host') {
    if (second === undefined) return { name: 'console' };
    return CODE.test(second) ? { name: 'host', code: second } : { name: 'not-found', path: pathname };
  }
  if (first === 'display' && second !== undefined && CODE.test(second)) return { name: 'display', code: second };
  return { name: 'not-found', path: pathname };
}

export class Router {
  route = $state<Route>({ name: 'student', code: null });

  constructor() {
    if (typeof window === 'undefined') return;
    this.route = parseRoute(location.pathname, location.search);
    window.addEventListener('popstate', () => {
      this.route = parseRoute(location.pathname, location.search);
    });
  }

  navigate(path: string, replace = false): void {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.route = parseRoute(location.pathname, location.search);
  }
}
