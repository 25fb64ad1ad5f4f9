import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  MAX_DOCUMENT_BYTES,
  parseNodeTaskText,
  validateNodeTask,
  type NodeTask,
  type Target,
} from '../../../lambdas/domain/node-task';
import { nodeTaskSchema } from '../../../lambdas/domain/node-task-schema';
import { nodeTask } from '../../support/node-task';

const fixtures = join(import.meta.dirname, '../../fixtures/nodetasks');
const readFixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

/** A fresh valid document per call (the seed add example), so no test sees another's edits. */
function baseTask(spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...nodeTask({ spec }) };
}

function accepted(text: string): { task: NodeTask; targets: Target[] } {
  const result = parseNodeTaskText(text);
  if (!result.ok) throw new Error(`expected a valid document, got:\n${result.problems.join('\n')}`);
  return result;
}

function problemsOf(doc: unknown): string[] {
  const result = validateNodeTask(doc);
  if (result.ok) throw new Error('expected the document to be invalid');
  return result.problems;
}

function textProblems(text: string): string[] {
  const result = parseNodeTaskText(text);
  if (result.ok) throw new Error('expected the text to be invalid');
  return result.problems;
}

describe('the seed examples', () => {
  it('add-nodes.yaml is valid unchanged', () => {
    const result = parseNodeTaskText(readFixture('add-nodes.yaml'));
    expect(result).toEqual({
      ok: true,
      task: {
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name: 'nodes' },
        spec: {
          nodeNamePrefix: 'edge',
          targetMachines: ['172.21.3.194', '172.21.3.195'],
          sshCredential: 'login-secret',
          proxyNode: 'vm-2-117-centos',
        },
      },
      targets: [{ ip: '172.21.3.194' }, { ip: '172.21.3.195' }],
    });
  });

  it('reinstall-nodes.yaml is valid unchanged and keeps the override name', () => {
    const result = accepted(readFixture('reinstall-nodes.yaml'));
    expect(result.targets).toEqual([{ ip: '172.21.3.194', name: 'edge-1mokvl' }]);
  });

  it('accepts JSON with Kubernetes metadata and folds duplicate, differently written IPs', () => {
    const result = accepted(readFixture('add-nodes.json'));
    expect(result.targets).toEqual([{ ip: '172.21.3.194' }, { ip: '172.21.3.195' }, { ip: '2001:db8::1' }]);
    expect(result.task.metadata).toMatchObject({
      name: 'nodes',
      uid: '0b9a5b1e-7c1e-4a53-9b8e-3f0f4d2a1c11',
    });
  });

  it('accepts every extension field', () => {
    const result = accepted(readFixture('extensions.yaml'));
    expect(result.task.spec).toMatchObject({ mode: 'direct', installer: 'kubeadm', maxAttempts: 5 });
  });

  it('tolerates a status written back by the product', () => {
    const doc = { ...baseTask(), status: { nodetaskStatus: 'creating', nodeStatus: {} } };
    expect(validateNodeTask(doc).ok).toBe(true);
  });
});

describe('invalid fixtures', () => {
  it.each([
    ['both-lists.yaml', ['spec: set exactly one of targetMachines or nodeNamesOverride (got both)']],
    [
      'bad-fields.yaml',
      [
        'apiVersion: "nodetask.apps.superedge.io/v1" is not supported; expected nodetask.apps.superedge.io/v1beta1',
        'metadata.name: "Nodes" is not a DNS-1123 subdomain of at most 56 characters (so the label value <name>-<6> fits 63)',
        'spec.nodeNamePrefix: "Edge_" is not a DNS-1123 label of at most 56 characters',
        'spec.targetMachines[1]: "300.1.2.3" is not an IPv4 or IPv6 address',
        'spec.sshPort: 70000 is out of range; expected an integer from 1 to 65535',
        'spec.colour: unknown field',
      ],
    ],
    [
      'duplicate-override.yaml',
      [
        'spec.nodeNamesOverride.edge-b: "2001:DB8:0::1" is already listed under spec.nodeNamesOverride.edge-a; a machine joins under one name only',
      ],
    ],
    [
      'direct-with-proxy.yaml',
      [
        'spec.proxyNode: not allowed in direct mode; remove it or set mode: proxy',
        'spec.proxyNodes: not allowed in direct mode; remove it or set mode: proxy',
      ],
    ],
    ['multi-document.yaml', ['document: holds 2 YAML documents; expected exactly one NodeTask']],
    [
      'billion-laughs.yaml',
      [
        'document: cannot be read (Excessive alias count indicates a resource exhaustion attack); expected one NodeTask in YAML or JSON',
      ],
    ],
  ])('%s is refused with every problem', (file, expected) => {
    expect(textProblems(readFixture(`invalid/${file}`))).toEqual(expected);
  });
});

describe('bad documents', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'neither list',
      { targetMachines: undefined },
      ['spec: set exactly one of targetMachines or nodeNamesOverride (got neither)'],
    ],
    [
      'an empty machine list',
      { targetMachines: [] },
      ['spec.targetMachines: is empty; expected at least one IPv4 or IPv6 address'],
    ],
    [
      'a machine that is not a string',
      { targetMachines: ['10.0.0.1', 7] },
      ['spec.targetMachines[1]: got a number; expected an IPv4 or IPv6 address'],
    ],
    [
      'an IPv6 address with a zone',
      { targetMachines: ['fe80::1%eth0'] },
      ['spec.targetMachines[0]: "fe80::1%eth0" is not an IPv4 or IPv6 address'],
    ],
    [
      'an IPv4 address with a leading zero',
      { targetMachines: ['10.0.0.01'] },
      ['spec.targetMachines[0]: "10.0.0.01" is not an IPv4 or IPv6 address'],
    ],
    [
      'a prefix missing with targetMachines',
      { nodeNamePrefix: undefined },
      [
        'spec.nodeNamePrefix: missing; required with targetMachines, a DNS-1123 label of at most 56 characters',
      ],
    ],
    [
      'a prefix too long for <prefix>-<6>',
      { nodeNamePrefix: 'e'.repeat(57) },
      [`spec.nodeNamePrefix: "${'e'.repeat(57)}" is not a DNS-1123 label of at most 56 characters`],
    ],
    [
      'an override name that is not a node name, and an empty override',
      { targetMachines: undefined, nodeNamesOverride: { Edge_1: '10.0.0.1', 'edge.2': 'x' } },
      [
        'spec.nodeNamesOverride.Edge_1: "Edge_1" is not a node name (DNS-1123 subdomain of at most 63 characters)',
        'spec.nodeNamesOverride["edge.2"]: "x" is not an IPv4 or IPv6 address',
      ],
    ],
    [
      'an empty override',
      { targetMachines: undefined, nodeNamesOverride: {} },
      ['spec.nodeNamesOverride: is empty; expected at least one node name: IP entry'],
    ],
    [
      'a missing credential and proxy node',
      { sshCredential: undefined, proxyNode: undefined },
      [
        'spec.sshCredential: missing; expected the name of a credential holding passwd or sshkey (DNS-1123 subdomain)',
        'spec.proxyNode: missing; required unless mode is direct, the name of an in-cluster node that can reach the targets',
      ],
    ],
    [
      'both proxyNode and proxyNodes',
      { proxyNodes: ['vm-a'] },
      ['spec: set at most one of proxyNode or proxyNodes (got both)'],
    ],
    [
      'a port given as a string',
      { sshPort: '22' },
      ['spec.sshPort: got a string; expected an integer from 1 to 65535'],
    ],
    [
      'a fractional port',
      { sshPort: 22.5 },
      ['spec.sshPort: 22.5 is out of range; expected an integer from 1 to 65535'],
    ],
    [
      'out-of-range extensions',
      { maxConcurrency: 0, maxAttempts: 11, attemptTimeoutSeconds: 59, pollSeconds: 301 },
      [
        'spec.maxConcurrency: 0 is out of range; expected an integer from 1 to 1000',
        'spec.maxAttempts: 11 is out of range; expected an integer from 1 to 10',
        'spec.attemptTimeoutSeconds: 59 is out of range; expected an integer from 60 to 7200',
        'spec.pollSeconds: 301 is out of range; expected an integer from 5 to 300',
      ],
    ],
    [
      'unknown mode, installer and user',
      { mode: 'tunnel', installer: 'rke', sshUser: 'root; reboot' },
      [
        'spec.mode: "tunnel" is not a mode; expected "proxy" or "direct"',
        'spec.sshUser: "root; reboot" is not a POSIX user name',
        'spec.installer: "rke" is not an installer; expected "edgeadm" or "kubeadm"',
      ],
    ],
    [
      'a cluster name with a slash',
      { cluster: 'a/b' },
      ['spec.cluster: "a/b" is not a registered cluster name ([A-Za-z0-9._-], at most 63 characters)'],
    ],
    [
      'several unknown fields',
      { colour: 'red', ips: [] },
      ['spec.colour: unknown field', 'spec.ips: unknown field'],
    ],
  ])('%s', (_title, spec, expected) => {
    expect(problemsOf(baseTask(spec))).toEqual(expected);
  });

  it('refuses more than 10,000 machines, by list or by override, naming the limit', () => {
    const ips = Array.from({ length: 10_001 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(problemsOf(baseTask({ targetMachines: ips }))).toEqual([
      'spec.targetMachines: 10001 machines exceed the limit of 10000 per task (the largest task the workflow runs); split the task',
    ]);
    const override = Object.fromEntries(ips.map((ip, i) => [`edge-${i}`, ip]));
    expect(problemsOf(baseTask({ nodeNamesOverride: override }))).toContain(
      'spec.nodeNamesOverride: 10001 machines exceed the limit of 10000 per task (the largest task the workflow runs); split the task',
    );
  });

  it('accepts exactly 10,000 machines', () => {
    const ips = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    const result = validateNodeTask(baseTask({ targetMachines: ips }));
    expect(result.ok && result.targets.length).toBe(10_000);
  });

  it('checks the envelope', () => {
    expect(problemsOf({ apiVersion: 'v1', kind: 'Pod', spec: 'x', extra: 1 })).toEqual([
      'apiVersion: "v1" is not supported; expected nodetask.apps.superedge.io/v1beta1',
      'kind: "Pod" is not supported; expected NodeTask',
      'metadata: missing; expected an object with a name',
      'spec: got a string; expected an object holding the task spec',
      'extra: unknown field',
    ]);
  });

  it('refuses a task name too long for its label value', () => {
    const doc = { ...baseTask(), metadata: { name: 'n'.repeat(57) } };
    expect(problemsOf(doc)).toHaveLength(1);
    expect(problemsOf(doc)[0]).toMatch(
      /^metadata\.name: .* is not a DNS-1123 subdomain of at most 56 characters/,
    );
  });

  it('reports problems in the same order every time', () => {
    const doc = baseTask({ sshPort: 0, colour: 1, targetMachines: ['x', 'y'], mode: 'direct' });
    expect(problemsOf(doc)).toEqual(problemsOf(structuredClone(doc)));
  });

  it('caps a flood of problems', () => {
    const problems = problemsOf(
      baseTask({ targetMachines: Array.from({ length: 500 }, (_, i) => `bad-${i}`) }),
    );
    expect(problems).toHaveLength(101);
    expect(problems[100]).toBe('document: 400 more problems not shown; fix the ones above first');
  });
});

describe('hostile input', () => {
  it.each([
    ['', 'document: is empty; expected one NodeTask in YAML or JSON'],
    ['   \n# only a comment\n', 'document: is empty; expected one NodeTask in YAML or JSON'],
    ['[]', 'document: got an array; expected a NodeTask object'],
    ['null', 'document: got nothing; expected a NodeTask object'],
    ['42', 'document: got a number; expected a NodeTask object'],
    ['"text"', 'document: got a string; expected a NodeTask object'],
    ['a: 1\na: 2\n', 'document: line 2, column 1: map keys must be unique; expected valid YAML or JSON'],
    [
      'spec:\n  x: {b: 1, c: 2}\n  y: 1\n  "y": 2\n',
      'document: line 4, column 3: map keys must be unique; expected valid YAML or JSON',
    ],
    [
      '{"a": {"b": 1, "b": 2}}',
      'document: line 1, column 16: map keys must be unique; expected valid YAML or JSON',
    ],
    ['\0\x01\x02binary', 'document: holds binary data (a NUL byte); expected YAML or JSON text'],
  ])('%j is one clear problem', (text, expected) => {
    expect(textProblems(text)).toEqual([expected]);
  });

  it('refuses more than 1 MiB before parsing', () => {
    const huge = `# ${'x'.repeat(2 * 1024 * 1024)}\n`;
    expect(textProblems(huge)).toEqual([
      'document: is larger than 1 MiB; expected one NodeTask of at most 1 MiB',
    ]);
    // Multi-byte characters count by their UTF-8 size.
    expect(textProblems('é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1))).toEqual([
      'document: is larger than 1 MiB; expected one NodeTask of at most 1 MiB',
    ]);
  });

  it('survives 10k-deep nesting in YAML and in a parsed object', () => {
    const text = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const problems = textProblems(text);
    expect(problems).toEqual(['document: nests deeper than 32 levels; expected valid YAML or JSON']);

    let deep: Record<string, unknown> = {};
    const doc = { ...baseTask(), metadata: { name: 'nodes', annotations: deep } };
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = {};
      deep.a = next;
      deep = next;
    }
    expect(problemsOf(doc)).toEqual([
      'metadata.annotations.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nests deeper than 32 levels; expected a NodeTask',
    ]);
  });

  it('refuses __proto__ keys without polluting any prototype', () => {
    const json = JSON.stringify(baseTask()).replace('"spec":{', '"spec":{"__proto__":{"polluted":true},');
    expect(textProblems(json)).toEqual(['spec.__proto__: this key is not allowed']);
    expect(textProblems('__proto__: {polluted: true}\n')).toEqual(['__proto__: this key is not allowed']);
    expect(problemsOf(JSON.parse('{"metadata":{"name":"n","__proto__":{"polluted":true}}}'))).toEqual([
      'metadata.__proto__: this key is not allowed',
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('turns an unexpected exception into one problem instead of throwing', () => {
    const doc = baseTask();
    Object.defineProperty(doc, 'kind', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(problemsOf(doc)).toEqual(['document: cannot be validated (boom)']);
  });
});

describe('the schema', () => {
  it('renders to JSON Schema for the API document', () => {
    const schema = z.toJSONSchema(nodeTaskSchema) as unknown as {
      properties: { spec: { properties: Record<string, unknown>; additionalProperties: boolean } };
    };
    expect(Object.keys(schema.properties.spec.properties)).toContain('nodeNamesOverride');
    expect(schema.properties.spec.additionalProperties).toBe(false);
  });
});

describe('metadata', () => {
  const withMetadata = (metadata: Record<string, unknown>) => ({
    ...baseTask(),
    metadata: { name: 'nodes', ...metadata },
  });

  it('accepts the fields a task read back from a cluster carries', () => {
    const metadata = {
      name: 'nodes',
      namespace: 'default',
      labels: { team: 'edge' },
      annotations: { 'example.com/note': 'rack 4' },
      uid: '0b9a5b1e-7c1e-4a53-9b8e-3f0f4d2a1c11',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-11-24T10:00:00Z',
    };
    const result = validateNodeTask({ ...baseTask(), metadata });
    expect(result.ok && result.task.metadata).toEqual(metadata);
  });

  it('refuses fields a NodeTask does not use', () => {
    expect(problemsOf(withMetadata({ managedFields: [{}], finalizers: ['x'] })).join('\n')).toMatch(
      /metadata.*managedFields/,
    );
  });

  it('caps labels and annotations in entries and size', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(problemsOf(withMetadata({ labels: many }))).toEqual([
      'metadata.labels: 65 entries exceed the limit of 64',
    ]);
    expect(problemsOf(withMetadata({ annotations: { big: 'x'.repeat(16 * 1024) } }))).toEqual([
      'metadata.annotations: exceed 16384 bytes in all; keep large data out of the task',
    ]);
    expect(problemsOf(withMetadata({ labels: { team: 'e'.repeat(64) } }))).toEqual([
      'metadata.labels.team: is longer than 63 characters; expected a label value',
    ]);
  });
});
