export type { Answer, JournalOptions, JournalStats } from './journal.js';
export { Journal } from './journal.js';
export type { ParsedToken } from './token.js';
export { formatToken, neverValidToken, parseToken, useTestEpochIds } from './token.js';
