/**
 * The instructor console (`/host`): log in, pick a bundled bank or upload one (validated by
 * the server, errors by line), choose options, create the session. Plain `fetch`, injectable.
 */
import type { SessionOptionsInput } from '@quizroom/shared';
import type { StoredHost } from './host.svelte.ts';
import { browserStorage, keys, readJson, type KeyValueStore } from './storage.ts';

export interface BankSummary {
  id: string;
  title: string;
  description: string;
  language: string;
  questionCount: number;
  types: Record<string, number>;
}

export interface ValidationIssue {
  line: number | null;
  column: number | null;
  path: string;
  message: string;
}

export interface CreatedSession {
  code: string;
  hostToken: string;
  joinUrl: string;
  displayUrl: string;
}

export type OptionsForm = Required<Pick<SessionOptionsInput, 'scoring' | 'streak' | 'timeMultiplier' | 'allowLateJoin' | 'nicknamePolicy' | 'profanityFilter' | 'gradedPointsLive'>>;

export const DEFAULT_OPTIONS: OptionsForm = {
  scoring: 'speed',
  streak: true,
  timeMultiplier: 1,
  allowLateJoin: true,
  nicknamePolicy: 'free',
  profanityFilter: true,
  gradedPointsLive: true,
};

export const UPLOAD_MAX_BYTES = 2_000_000;

type Fetch = typeof fetch;

interface ApiError {
  status: number;
  code: string;
  message: string;
  body: unknown;
}

type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiError };

export class ConsoleState {
  /** null until `/api/me` answered. */
  instructor = $state<boolean | null>(null);
  loggingIn = $state(false);
  loginError = $state<string | null>(null);

  banks = $state.raw<BankSummary[]>([]);
  banksLoading = $state(false);
  banksError = $state<string | null>(null);

  source = $state<'bank' | 'upload'>('bank');
  selectedBankId = $state<string | null>(null);

  upload = $state.raw<{ filename: string; content: string } | null>(null);
  uploadBank = $state.raw<{ id: string; title: string; questionCount: number; types: Record<string, number> } | null>(null);
  uploadIssues = $state.raw<ValidationIssue[]>([]);
  uploadError = $state<string | null>(null);
  validating = $state(false);

  options = $state<OptionsForm>({ ...DEFAULT_OPTIONS });
  creating = $state(false);
  createError = $state<string | null>(null);

  readonly #fetch: Fetch;
  readonly #storage: KeyValueStore;

  constructor(opts: { fetch?: Fetch; storage?: KeyValueStore } = {}) {
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#storage = opts.storage ?? browserStorage('local');
  }

  get selectedBank(): BankSummary | null {
    return this.banks.find((b) => b.id === this.selectedBankId) ?? null;
  }

  get canCreate(): boolean {
    if (this.creating) return false;
    return this.source === 'bank' ? this.selectedBank !== null : this.upload !== null && this.uploadBank !== null;
  }

  async #api<T>(path: string, init: RequestInit = {}): Promise<ApiResult<T>> {
    let res: Response;
    try {
      res = await this.#fetch(path, {
        credentials: 'same-origin',
        ...init,
        headers: { Accept: 'application/json', ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...(init.headers ?? {}) },
      });
    } catch {
      return { ok: false, error: { status: 0, code: 'UNAVAILABLE', message: 'Cannot reach the server. Check your connection.', body: null } };
    }
    let body: unknown = null;
    try {
      body = res.status === 204 ? null : await res.json();
    } catch {
      body = null;
    }
    if (res.ok) return { ok: true, data: body as T };
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    return {
      ok: false,
      error: { status: res.status, code: err?.code ?? 'INTERNAL', message: err?.message ?? `The server answered ${res.status}.`, body },
    };
  }

  /** Who am I? Loads the banks when logged in. */
  async init(): Promise<void> {
    const r = await this.#api<{ instructor: boolean }>('/api/me');
    this.instructor = r.ok ? r.data.instructor === true : false;
    if (this.instructor) await this.loadBanks();
  }

  async login(password: string): Promise<boolean> {
    if (!password) {
      this.loginError = 'Enter the instructor password.';
      return false;
    }
    this.loggingIn = true;
    this.loginError = null;
    try {
      const r = await this.#api<unknown>('/api/login', { method: 'POST', body: JSON.stringify({ password }) });
      if (!r.ok) {
        this.loginError = r.error.status === 401 || r.error.code === 'UNAUTHORIZED' ? r.error.message || 'Wrong password.' : r.error.message;
        return false;
      }
      this.instructor = true;
      await this.loadBanks();
      return true;
    } finally {
      this.loggingIn = false;
    }
  }

  async logout(): Promise<void> {
    await this.#api('/api/logout', { method: 'POST' });
    this.instructor = false;
    this.banks = [];
  }

  async loadBanks(): Promise<void> {
    this.banksLoading = true;
    this.banksError = null;
    try {
      const r = await this.#api<{ banks: BankSummary[] }>('/api/banks');
      if (!r.ok) {
        if (r.error.status === 401) this.instructor = false;
        this.banksError = r.error.message;
        return;
      }
      this.banks = r.data.banks;
      if (!this.selectedBankId && this.banks.length > 0) this.selectedBankId = this.banks[0]!.id;
    } finally {
      this.banksLoading = false;
    }
  }

  /** Read a chosen file and have the server validate it. */
  async chooseFile(file: File): Promise<boolean> {
    this.source = 'upload';
    if (file.size > UPLOAD_MAX_BYTES) {
      this.upload = null;
      this.uploadBank = null;
      this.uploadIssues = [];
      this.uploadError = `That file is too large (${Math.round(file.size / 1000)} kB; at most ${UPLOAD_MAX_BYTES / 1_000_000} MB).`;
      return false;
    }
    const content = await file.text();
    return this.validateUpload(file.name, content);
  }

  async validateUpload(filename: string, content: string): Promise<boolean> {
    this.source = 'upload';
    this.upload = { filename, content };
    this.uploadBank = null;
    this.uploadIssues = [];
    this.uploadError = null;
    this.validating = true;
    try {
      const r = await this.#api<{ bank: NonNullable<ConsoleState['uploadBank']> }>('/api/banks/validate', {
        method: 'POST',
        body: JSON.stringify({ filename, content }),
      });
      if (r.ok) {
        this.uploadBank = r.data.bank;
        return true;
      }
      this.uploadError = r.error.message;
      const issues = (r.error.body as { errors?: Partial<ValidationIssue>[] } | null)?.errors;
      if (Array.isArray(issues))
        this.uploadIssues = issues.map((i) => ({
          line: typeof i.line === 'number' ? i.line : null,
          column: typeof i.column === 'number' ? i.column : null,
          path: typeof i.path === 'string' ? i.path : '',
          message: typeof i.message === 'string' ? i.message : String(i.message ?? ''),
        }));
      return false;
    } finally {
      this.validating = false;
    }
  }

  clearUpload(): void {
    this.upload = null;
    this.uploadBank = null;
    this.uploadIssues = [];
    this.uploadError = null;
    this.source = 'bank';
  }

  /** Create the session and keep its host token in this browser. Returns the new code. */
  async create(): Promise<CreatedSession | null> {
    if (!this.canCreate) return null;
    this.creating = true;
    this.createError = null;
    try {
      const options = { ...this.options, timeMultiplier: Number(this.options.timeMultiplier) || 1 };
      const body =
        this.source === 'bank' ? { bankId: this.selectedBankId, options } : { upload: this.upload, options };
      const r = await this.#api<CreatedSession>('/api/sessions', { method: 'POST', body: JSON.stringify(body) });
      if (!r.ok) {
        if (r.error.status === 401) this.instructor = false;
        this.createError = r.error.message;
        return null;
      }
      const bankTitle = this.source === 'bank' ? this.selectedBank?.title : this.uploadBank?.title;
      const record: StoredHost = { hostToken: r.data.hostToken, joinUrl: r.data.joinUrl, displayUrl: r.data.displayUrl, createdAt: Date.now(), ...(bankTitle ? { bankTitle } : {}) };
      this.#storage.setItem(keys.host(r.data.code), JSON.stringify(record));
      return r.data;
    } finally {
      this.creating = false;
    }
  }

  /** Sessions this browser can still host (newest first). */
  savedSessions(): { code: string; createdAt: number | null; bankTitle: string | null }[] {
    return this.#storage
      .keys()
      .filter((k) => k.startsWith(keys.hostPrefix))
      .map((k) => {
        const code = k.slice(keys.hostPrefix.length);
        const rec = readJson<StoredHost>(this.#storage, k);
        return { code, createdAt: rec?.createdAt ?? null, bankTitle: rec?.bankTitle ?? null };
      })
      .filter((s) => /^\d{6}$/.test(s.code))
      .sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  }

  forgetSession(code: string): void {
    this.#storage.removeItem(keys.host(code));
  }
}
