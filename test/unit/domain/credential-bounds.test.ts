import { describe, expect, it } from 'vitest';
import {
  boundsFromTags,
  boundsInputProblems,
  boundsProblems,
  cidrProblem,
  directRangesFromTags,
  inRanges,
  type BoundsCheck,
} from '../../../lambdas/domain/credential-bounds';

const targets = [
  { ip: '10.1.2.3', path: 'spec.targetMachines[0]' },
  { ip: '192.168.7.9', path: 'spec.targetMachines[1]' },
];

function check(overrides: Partial<BoundsCheck>): string[] {
  return boundsProblems({
    credential: 'login',
    bounds: { clusters: ['prod'], ranges: [] },
    cluster: 'prod',
    mode: 'proxy',
    targets,
    directRanges: 'none',
    ...overrides,
  });
}

describe('address ranges', () => {
  it('reads IPv4 and IPv6 CIDRs and refuses anything else', () => {
    expect(cidrProblem('10.0.0.0/8')).toBeUndefined();
    expect(cidrProblem('fd00::/64')).toBeUndefined();
    expect(cidrProblem('10.0.0.0')).toMatch(/prefix length of 0 to 32/);
    expect(cidrProblem('10.0.0.0/33')).toMatch(/prefix length/);
    expect(cidrProblem('example.com/8')).toMatch(/is not an address range/);
  });

  it('places addresses in ranges of their own family', () => {
    expect(inRanges('10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(inRanges('11.1.2.3', ['10.0.0.0/8'])).toBe(false);
    expect(inRanges('fd00::5', ['fd00::/64'])).toBe(true);
    expect(inRanges('10.1.2.3', ['fd00::/64'])).toBe(false);
  });
});

describe('bounds as tags', () => {
  it('reads a credential bound to clusters and ranges; one naming no cluster has no bounds', () => {
    expect(
      boundsFromTags([
        { Key: 'penetrator:clusters', Value: 'prod lab' },
        { Key: 'penetrator:ranges', Value: '10.0.0.0/8' },
      ]),
    ).toEqual({ clusters: ['prod', 'lab'], ranges: ['10.0.0.0/8'] });
    expect(boundsFromTags([{ Key: 'penetrator:ranges', Value: '10.0.0.0/8' }])).toBe('none');
    expect(boundsFromTags([])).toBe('none');
    expect(directRangesFromTags([])).toBe('none');
    expect(directRangesFromTags([{ Key: 'penetrator:direct-ranges', Value: '10.0.0.0/8' }])).toEqual([
      '10.0.0.0/8',
    ]);
  });

  it('refuses bounds that a tag cannot hold, naming the field', () => {
    expect(boundsInputProblems({ ranges: ['10.0.0.0/8', 'nope'] })).toEqual([
      'ranges[1]: "nope" is not an address range (CIDR, e.g. 10.0.0.0/8)',
    ]);
    expect(boundsInputProblems({ clusters: Array.from({ length: 40 }, (_, i) => `cluster-${i}`) })).toEqual([
      'clusters: at most 256 characters in all, separators included',
    ]);
  });
});

describe('boundsProblems', () => {
  it('lets a credential serve the clusters and ranges it names', () => {
    expect(check({})).toEqual([]);
    expect(check({ bounds: { clusters: ['prod'], ranges: ['10.0.0.0/8', '192.168.0.0/16'] } })).toEqual([]);
    expect(check({ bounds: 'unbounded' })).toEqual([]);
  });

  it('refuses a credential stored without clusters, saying how to bind it', () => {
    expect(check({ bounds: 'none' })).toEqual([
      'spec.sshCredential: credential login names no cluster it may be used for; store it again with its clusters (penetrator credential put login --clusters prod …)',
    ]);
  });

  it('refuses another cluster, and each machine outside the ranges, by field path', () => {
    expect(check({ bounds: { clusters: ['lab'], ranges: [] } })).toEqual([
      'spec.sshCredential: credential login may not be used for cluster prod (it serves lab)',
    ]);
    expect(check({ bounds: { clusters: ['prod'], ranges: ['10.0.0.0/8'] } })).toEqual([
      'spec.targetMachines[1]: 192.168.7.9 is outside the ranges credential login may reach (10.0.0.0/8)',
    ]);
  });

  it('lets direct mode reach only the ranges its cluster names', () => {
    expect(check({ mode: 'direct' })).toEqual([
      'spec.mode: cluster prod names no address ranges direct mode may reach; register them (penetrator cluster add prod --direct-ranges CIDR,… --replace) or use a proxy node',
    ]);
    expect(check({ mode: 'direct', directRanges: ['192.168.0.0/16'] })).toEqual([
      'spec.targetMachines[0]: 10.1.2.3 is outside the ranges direct mode may reach in cluster prod (192.168.0.0/16)',
    ]);
    expect(check({ mode: 'direct', directRanges: 'unbounded' })).toEqual([]);
  });
});
