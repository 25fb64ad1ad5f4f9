import { describe, expect, it } from 'vitest';
import {
  HOST_KEY_ANNOTATION,
  PINNED_HOST_KEY_ENV,
  hostKeyOfBlob,
  parseHostKey,
  pinnedHostKey,
  pinnedKnownHostsLine,
  reportedHostKey,
  withPinnedHostKey,
} from '../../../lambdas/domain/host-key-pin';
import type { JobObject, NodeObject } from '../../../lambdas/domain/kube-types';

/** An SSH public key blob: the type as a length-prefixed string, then the key bytes. */
function blob(type: string, body = Buffer.alloc(32, 7)): Buffer {
  const name = Buffer.from(type, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  const bodyLength = Buffer.alloc(4);
  bodyLength.writeUInt32BE(body.length);
  return Buffer.concat([length, name, bodyLength, body]);
}

const ED25519 = `ssh-ed25519 ${blob('ssh-ed25519').toString('base64')}`;
const OTHER = `ssh-ed25519 ${blob('ssh-ed25519', Buffer.alloc(32, 9)).toString('base64')}`;

function node(name: string, ip: string, pin?: string): NodeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(pin === undefined ? {} : { annotations: { [HOST_KEY_ANNOTATION]: pin } }) },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}

describe('parseHostKey', () => {
  it('reads a public key whose blob names its own type', () => {
    expect(parseHostKey(` ${ED25519}\n`)).toEqual({
      type: 'ssh-ed25519',
      base64: ED25519.split(' ')[1],
    });
  });

  it.each([
    ['a key posing as another type', `ssh-rsa ${blob('ssh-ed25519').toString('base64')}`],
    ['a third field', `${ED25519} comment`],
    ['a type with a quote', `ssh-ed25519' ${blob("ssh-ed25519'").toString('base64')}`],
    ['text that is not base64', 'ssh-ed25519 AAAA$(reboot)'],
    ['a truncated blob', 'ssh-ed25519 AAAA'],
    ['an oversized key', `ssh-rsa ${blob('ssh-rsa', Buffer.alloc(4000)).toString('base64')}`],
  ])('refuses %s', (_what, text) => {
    expect(parseHostKey(text)).toBeUndefined();
  });

  it('reads the key a machine presents, as ssh2 hands it over', () => {
    expect(hostKeyOfBlob(blob('ssh-ed25519'))).toEqual(parseHostKey(ED25519));
    expect(hostKeyOfBlob(Buffer.from([0, 0]))).toBeUndefined();
  });
});

describe('pinnedHostKey', () => {
  it('takes the pin of a Node standing at the machine address, the node itself first', () => {
    const pin = pinnedHostKey(
      [node('edge-a', '10.0.0.5', ED25519), node('edge-old', '10.0.0.5', OTHER)],
      '10.0.0.5',
    );
    expect(pin).toEqual(parseHostKey(ED25519));
    expect(pinnedHostKey([undefined, node('edge-old', '10.0.0.5', OTHER)], '10.0.0.5')).toEqual(
      parseHostKey(OTHER),
    );
  });

  it('ignores a Node elsewhere, one without a pin, and a pin that is not a key', () => {
    expect(pinnedHostKey([node('edge-a', '10.0.0.6', ED25519)], '10.0.0.5')).toBeUndefined();
    expect(pinnedHostKey([node('edge-a', '10.0.0.5')], '10.0.0.5')).toBeUndefined();
    expect(pinnedHostKey([node('edge-a', '10.0.0.5', 'ssh-ed25519 AAAA')], '10.0.0.5')).toBeUndefined();
  });
});

describe('the pin in known_hosts, in the Job and in the report', () => {
  const key = parseHostKey(ED25519)!;

  it('writes the line for the address and port the task uses', () => {
    expect(pinnedKnownHostsLine(key, '10.0.0.5', 22)).toBe(`10.0.0.5 ${ED25519}`);
    expect(pinnedKnownHostsLine(key, 'fd00::5', 2222)).toBe(`[fd00::5]:2222 ${ED25519}`);
  });

  it('hands the pin to the install container as a variable, and nothing without one', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: { containers: [{ name: 'install', image: 'i', env: [] }] } } },
    } as unknown as JobObject;
    expect(withPinnedHostKey(job, undefined)).toBe(job);
    const pinned = withPinnedHostKey(job, key);
    expect(pinned.spec!.template.spec!.containers[0]!.env).toEqual([
      { name: PINNED_HOST_KEY_ENV, value: ED25519 },
    ]);
    expect(job.spec!.template.spec!.containers[0]!.env).toEqual([]);
  });

  it('reads the key install.sh reports, and nothing from a forged line', () => {
    expect(reportedHostKey(`host-key: ${ED25519}\n`)).toEqual(key);
    expect(reportedHostKey('host-key: ssh-ed25519 AAAA\n')).toBeUndefined();
    expect(reportedHostKey('joined\n')).toBeUndefined();
  });
});
