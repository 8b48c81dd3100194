import { describe, expect, it } from 'vitest';
import { checkNickname, nicknameKey, normaliseNickname } from './nickname.ts';
import { containsProfanity } from './profanity.ts';
import { normaliseShortAnswer } from './question.ts';

describe('nicknames (J3)', () => {
  it('applies NFKC and collapses whitespace', () => {
    expect(normaliseNickname('  Ａｄａ   Lovelace ')).toBe('Ada Lovelace');
    expect(normaliseNickname('ﬁsh')).toBe('fish');
  });

  it('strips control, zero-width and bidi-override characters', () => {
    expect(normaliseNickname('A\u200Bd\u200Da\u0000')).toBe('Ada');
    expect(normaliseNickname('\u202Eevil\u202C')).toBe('evil');
    expect(normaliseNickname('\u2066x\u2069')).toBe('x');
  });

  it('cuts combining-mark floods ("Zalgo") to two marks per character', () => {
    const zalgo = 'Z' + '\u0301\u0302\u0303\u0304\u0305\u0306\u0307'.repeat(20) + 'ed';
    const cleaned = normaliseNickname(zalgo);
    expect([...cleaned.normalize('NFD')].filter((c) => /\p{M}/u.test(c)).length).toBeLessThanOrEqual(2);
  });

  it('refuses empty and overlong names with a message', () => {
    expect(checkNickname('\u200B\u200B')).toEqual({ ok: false, message: 'choose a nickname' });
    expect(checkNickname('x'.repeat(21)).ok).toBe(false);
    expect(checkNickname('😀'.repeat(20))).toEqual({ ok: true, nickname: '😀'.repeat(20) });
  });

  it('compares case-insensitively for uniqueness', () => {
    expect(nicknameKey('ADA')).toBe(nicknameKey('ada'));
    expect(nicknameKey('Ａda')).toBe(nicknameKey('ada'));
  });
});

describe('profanity filter (J8)', () => {
  it('catches common words and look-alikes', () => {
    for (const rude of ['shit', 'Sh1t Head', 'f.u.c.k', 'BIIITCH', 'ａｓｓｈｏｌｅ', 'big dick', 'N4zi']) expect(containsProfanity(rude), rude).toBe(true);
  });
  it('leaves innocent names alone (Scunthorpe problem)', () => {
    for (const fine of ['Scunthorpe', 'Dickens', 'Arsenal fan', 'Grapes', 'Bob', 'Nigeria', 'Glasshouse', 'Cocktail', 'Sussex']) expect(containsProfanity(fine), fine).toBe(false);
  });
});

describe('short answers', () => {
  it('compare normalised: NFKC, case, whitespace and trailing punctuation', () => {
    expect(normaliseShortAnswer(' Hyper-V. ')).toBe('hyper-v');
    expect(normaliseShortAnswer('HYPER-V')).toBe('hyper-v');
    expect(normaliseShortAnswer('Ｄｏｃｋｅｒ!')).toBe('docker');
    expect(normaliseShortAnswer('Docker', true)).toBe('Docker');
  });
});
