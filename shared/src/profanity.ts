/**
 * A deliberately small profanity filter for nicknames shown on a classroom projector. It
 * catches the common words and look-alike spellings (l33t digits, stretched letters,
 * separators like "f.u.c.k") while avoiding the Scunthorpe problem: short words that hide
 * inside innocent names are matched as whole words only. A courtesy, not a guarantee — the
 * host can always kick.
 */

/** Distinctive enough to refuse anywhere in a name. */
const ANYWHERE = ['fuck', 'shit', 'asshole', 'nigger', 'nigga', 'faggot', 'wank', 'whore', 'slut', 'bitch', 'twat', 'porn', 'motherf'];
/** Refused as whole words only ("Dickens", "Arsenal", "grapes" and "Scunthorpe" stay allowed). */
const WHOLE_WORDS = ['cunt', 'dick', 'cock', 'pussy', 'arse', 'ass', 'fag', 'retard', 'rape', 'penis', 'vagina', 'tits', 'boobs', 'nazi', 'hitler', 'kys', 'bastard', 'cum', 'sex'];

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '|': 'i', '+': 't' };

const collapse = (s: string) => s.replace(/(.)\1+/g, '$1');
const hasDoubles = (s: string) => /(.)\1/.test(s);

export function containsProfanity(nickname: string): boolean {
  const folded = nickname
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[0-9@$!|+]/g, (c) => LEET[c] ?? c);
  const joined = folded.replace(/[^a-z]/g, '');
  const squashed = collapse(joined);
  if (ANYWHERE.some((w) => joined.includes(w) || (!hasDoubles(w) && squashed.includes(w)))) return true;
  const words = folded.split(/[^a-z]+/).filter(Boolean);
  return words.some((t) => WHOLE_WORDS.includes(t) || WHOLE_WORDS.includes(collapse(t)));
}
