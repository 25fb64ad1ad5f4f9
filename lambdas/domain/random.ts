import { randomBytes } from 'node:crypto';

/** Returns n random bytes. Injected so tests can replay a seeded sequence. */
export type RandomSource = (n: number) => Uint8Array;

export const defaultRandom: RandomSource = (n) => randomBytes(n);

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Largest multiple of 36 that fits a byte: bytes at or above it are dropped, so no letter is favoured. */
const UNBIASED_LIMIT = Math.floor(256 / ALPHABET.length) * ALPHABET.length;
const SUFFIX_LENGTH = 6;
/** A fair source drops 1.6 % of bytes; 64 rounds only run out when the source is broken. */
const MAX_ROUNDS = 64;

/** Six characters of [a-z0-9], as the original's names and label values use. */
export function randomSuffix(random: RandomSource = defaultRandom): string {
  let out = '';
  for (let round = 0; round < MAX_ROUNDS && out.length < SUFFIX_LENGTH; round++) {
    for (const byte of random(SUFFIX_LENGTH * 2)) {
      if (byte < UNBIASED_LIMIT && out.length < SUFFIX_LENGTH) out += ALPHABET[byte % ALPHABET.length];
    }
  }
  if (out.length < SUFFIX_LENGTH) {
    throw new Error(`random source yielded no usable byte in ${MAX_ROUNDS} rounds; it is broken`);
  }
  return out;
}
