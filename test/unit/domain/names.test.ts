import { describe, expect, it } from 'vitest';
import {
  assignNodeNames,
  isDnsSubdomain,
  isValidLabelValue,
  isValidNodeName,
  taskLabelValue,
} from '../../../lambdas/domain/names';
import { randomSuffix } from '../../../lambdas/domain/random';
import { cyclingRandom, seededRandom } from './seeded-random';

describe('randomSuffix', () => {
  it('gives six characters of [a-z0-9]', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 500; i++) expect(randomSuffix(random)).toMatch(/^[a-z0-9]{6}$/);
    expect(randomSuffix()).toMatch(/^[a-z0-9]{6}$/);
  });

  it('drops bytes at or above 252 instead of folding them onto the first letters', () => {
    // 252 % 36 === 0 would give "a" if the byte were used; 0..5 map to a..f.
    expect(randomSuffix(cyclingRandom([252, 253, 254, 255, 0, 1, 2, 3, 4, 5]))).toBe('abcdef');
    // The edges of the accepted range: 35 → 9, 36 → a, 71 → 9, 251 → 9.
    expect(randomSuffix(cyclingRandom([35, 36, 71, 251]))).toBe('9a999a');
  });

  it('covers the alphabet evenly', () => {
    const random = seededRandom(7);
    const counts = new Map<string, number>();
    const draws = 6000;
    for (let i = 0; i < draws; i++)
      for (const c of randomSuffix(random)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(36);
    const expected = (draws * 6) / 36;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.15);
  });

  it('fails clearly on a source that only yields unusable bytes', () => {
    expect(() => randomSuffix(cyclingRandom([255]))).toThrow(/random source yielded no usable byte/);
  });
});

describe('name predicates', () => {
  it.each([
    ['edge-1mokvl', true],
    ['a.b-c.d', true],
    ['Edge', false],
    ['-edge', false],
    ['edge-', false],
    ['edge_1', false],
    ['', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['a..b', false],
  ])('isValidNodeName(%j) is %s', (name, valid) => {
    expect(isValidNodeName(name)).toBe(valid);
  });

  it.each([
    ['nodes-abc123', true],
    ['', true],
    ['A_b.c-D', true],
    ['_a', false],
    ['a'.repeat(64), false],
    ['a b', false],
  ])('isValidLabelValue(%j) is %s', (value, valid) => {
    expect(isValidLabelValue(value)).toBe(valid);
  });

  it('accepts subdomains up to 253 characters', () => {
    const label = 'a'.repeat(63);
    expect(isDnsSubdomain([label, label, label, 'a'.repeat(61)].join('.'))).toBe(true);
    expect(isDnsSubdomain([label, label, label, 'a'.repeat(62)].join('.'))).toBe(false);
  });
});

describe('taskLabelValue', () => {
  it('is <task name>-<6 of [a-z0-9]> and a valid label value even for a 56-character name', () => {
    const name = 'n'.repeat(56);
    const value = taskLabelValue(name, seededRandom(3));
    expect(value).toMatch(new RegExp(`^${name}-[a-z0-9]{6}$`));
    expect(value).toHaveLength(63);
    expect(isValidLabelValue(value)).toBe(true);
  });

  it('refuses a name that cannot make a label value', () => {
    expect(() => taskLabelValue('n'.repeat(57))).toThrow(/at most 56 characters/);
  });

  it('differs between two tasks of the same name', () => {
    const random = seededRandom(4);
    expect(taskLabelValue('nodes', random)).not.toBe(taskLabelValue('nodes', random));
  });
});

describe('assignNodeNames', () => {
  it('keeps override names and names every other IP <prefix>-<6>, in target order', () => {
    const assigned = assignNodeNames(
      [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', name: 'edge-keep' }, { ip: '10.0.0.3' }],
      'edge',
      new Set(),
      seededRandom(5),
    );
    expect(assigned.map((a) => a.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(assigned[1]).toEqual({ name: 'edge-keep', ip: '10.0.0.2' });
    expect(assigned[0]!.name).toMatch(/^edge-[a-z0-9]{6}$/);
    expect(assigned[2]!.name).toMatch(/^edge-[a-z0-9]{6}$/);
  });

  it('never collides with existing nodes, override names or each other (1000 seeded runs)', () => {
    for (let seed = 0; seed < 1000; seed++) {
      const random = seededRandom(seed);
      // Existing nodes drawn from the same generator: the likeliest names to collide with.
      const existing = new Set(Array.from({ length: 20 }, () => `e-${randomSuffix(seededRandom(seed))}`));
      existing.add(`e-${randomSuffix(seededRandom(seed + 1))}`);
      const targets = Array.from({ length: 30 }, (_, i) => ({ ip: `10.0.${seed % 256}.${i}` }));
      targets.push({ ip: '10.1.0.1', name: `e-${randomSuffix(seededRandom(seed + 2))}` } as never);
      const assigned = assignNodeNames(targets, 'e', existing, random);
      const names = assigned.map((a) => a.name);
      expect(new Set(names).size).toBe(names.length);
      for (const a of assigned.slice(0, 30)) expect(existing.has(a.name)).toBe(false);
    }
  });

  it('draws again when a name is taken', () => {
    // The first draw repeats an existing node's name; the second is free.
    const random = cyclingRandom([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(assignNodeNames([{ ip: '10.0.0.1' }], 'edge', new Set(['edge-aaaaaa']), random)).toEqual([
      { name: 'edge-bbbbbb', ip: '10.0.0.1' },
    ]);
  });

  it('gives up with a clear error when the source keeps repeating a taken name', () => {
    expect(() =>
      assignNodeNames([{ ip: '10.0.0.1' }], 'edge', new Set(['edge-aaaaaa']), cyclingRandom([0])),
    ).toThrow(/no free node name of the form edge-xxxxxx after 100 draws/);
  });

  it('refuses an invalid prefix', () => {
    expect(() => assignNodeNames([{ ip: '10.0.0.1' }], 'Edge', new Set())).toThrow(/not a DNS-1123 label/);
  });
});
