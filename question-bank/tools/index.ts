/**
 * The question-bank tooling as a library (`@quizroom/question-bank`). The CLIs
 * (bank-check.ts, gift-import.ts, write-json-schema.ts) are not re-exported here.
 */
export {
  BankLoadError,
  bankFilesIn,
  bundledBanksDir,
  checkBankSource,
  formatBankError,
  loadBankFile,
  loadBundledBanks,
  MAX_ALIAS_COUNT,
  MAX_BANK_BYTES,
} from './load-bank.ts';
export type { BankCheckResult, BankError } from './load-bank.ts';
export { giftToBank, slugify } from './gift.ts';
export type { GiftOptions, GiftResult } from './gift.ts';
export { formatPath, validateBankData } from './issues.ts';
export type { BankIssue, PathSegment } from './issues.ts';
export { bankJsonSchema, bankJsonSchemaText } from './write-json-schema.ts';
