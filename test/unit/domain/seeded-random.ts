import type { RandomSource } from '../../../lambdas/domain/random';

/** mulberry32: a tiny deterministic generator, so a failing property run can be replayed by its seed. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
    return out;
  };
}

/** Replays the given bytes in a loop: a source with a known, tiny output space. */
export function cyclingRandom(bytes: number[]): RandomSource {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length]!);
}
