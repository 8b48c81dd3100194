/**
 * A small key-value store interface (the subset of Web Storage the client uses), so state
 * classes can be given an in-memory store in tests and survive browsers where storage throws
 * (private mode, quota, disabled cookies).
 */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  /** All keys currently stored (used to list saved sessions). */
  keys(): string[];
}

export function memoryStorage(initial: Record<string, string> = {}): KeyValueStore {
  const map = new Map(Object.entries(initial));
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
    keys: () => [...map.keys()],
  };
}

/** Web Storage wrapped so that a throwing browser falls back to memory for this page. */
export function browserStorage(kind: 'local' | 'session' = 'local'): KeyValueStore {
  let store: Storage | null = null;
  try {
    store = kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
    const probe = '__quizroom_probe__';
    store.setItem(probe, '1');
    store.removeItem(probe);
  } catch {
    store = null;
  }
  if (!store) return memoryStorage();
  const s = store;
  const fallback = memoryStorage();
  return {
    getItem(k) {
      try {
        return s.getItem(k) ?? fallback.getItem(k);
      } catch {
        return fallback.getItem(k);
      }
    },
    setItem(k, v) {
      try {
        s.setItem(k, v);
      } catch {
        fallback.setItem(k, v);
      }
    },
    removeItem(k) {
      fallback.removeItem(k);
      try {
        s.removeItem(k);
      } catch {
        /* ignore */
      }
    },
    keys() {
      const out = new Set(fallback.keys());
      try {
        for (let i = 0; i < s.length; i++) {
          const k = s.key(i);
          if (k !== null) out.add(k);
        }
      } catch {
        /* ignore */
      }
      return [...out];
    },
  };
}

/** Storage keys, in one place. */
export const keys = {
  player: (code: string) => `quizroom:player:${code}`,
  host: (code: string) => `quizroom:host:${code}`,
  hostPrefix: 'quizroom:host:',
  draft: (code: string, questionId: string) => `quizroom:draft:${code}:${questionId}`,
  consent: (code: string) => `quizroom:consent:${code}`,
} as const;

export function readJson<T>(store: KeyValueStore, key: string): T | null {
  const raw = store.getItem(key);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}
