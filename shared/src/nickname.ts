/**
 * Nickname normalisation: NFKC, then strip what makes "glitch names" (control characters,
 * zero-width and bidi-override characters, runs of combining marks), collapse whitespace.
 * The key used for uniqueness is case-folded, so "Ada" and "ADA" cannot both join.
 */
export const NICKNAME_MIN = 1;
export const NICKNAME_MAX = 20;

// Cc/Cf controls (includes zero-width joiners and bidi overrides/isolates), line/para separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
// More than two combining marks on one base character is a "Zalgo" flood.
const MARK_FLOOD = /(\p{M}{2})\p{M}+/gu;

export function normaliseNickname(raw: string): string {
  // NFKD then NFC is NFKC; the flood is cut while the marks are still separate characters.
  return raw.normalize('NFKD').replace(INVISIBLE, '').replace(MARK_FLOOD, '$1').normalize('NFC').replace(/\s+/gu, ' ').trim();
}

export function nicknameKey(nickname: string): string {
  return normaliseNickname(nickname).toLocaleLowerCase('en');
}

/** Returns the cleaned nickname, or an error message when nothing usable is left. */
export function checkNickname(raw: string): { ok: true; nickname: string } | { ok: false; message: string } {
  const nickname = normaliseNickname(raw);
  const length = [...nickname].length;
  if (length < NICKNAME_MIN) return { ok: false, message: 'choose a nickname' };
  if (length > NICKNAME_MAX) return { ok: false, message: `a nickname has at most ${NICKNAME_MAX} characters` };
  return { ok: true, nickname };
}
