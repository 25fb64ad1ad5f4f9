import { describe, expect, it } from 'vitest';
import { parseInterval } from '../../../cli/commands/sync';

describe('penetrator sync --interval', () => {
  it('takes seconds, minutes, milliseconds, or a bare number of seconds', () => {
    expect(parseInterval('10s')).toBe(10_000);
    expect(parseInterval('2m')).toBe(120_000);
    expect(parseInterval('1500ms')).toBe(1_500);
    expect(parseInterval('30')).toBe(30_000);
  });

  it('refuses what is not a duration from 1s to 60m, saying what it takes', () => {
    for (const value of ['0s', '500ms', '61m', 'ten', '-5s', '']) {
      expect(() => parseInterval(value)).toThrow(
        `--interval takes a duration from 1s to 60m, like 10s or 2m; received "${value}"`,
      );
    }
  });
});
