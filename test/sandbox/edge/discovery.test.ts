import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runChecked } from '../../../sandbox/network';
import { caPublicKeyHash, parseCaHash, parseToken, verifyDetachedJws } from '../../../sandbox/edge/discovery';
import { JoinError } from '../../../sandbox/edge/join-error';

// The pure half of the stand-in's discovery, by value. The live half runs in join.test.ts against the
// real bootstrap signer.

const token = parseToken('abcdef.0123456789abcdef');
const payload = 'apiVersion: v1\nkind: Config\n';

/** A detached JWS built by hand from RFC 7515, independently of the code under test. */
function sign(header: object, content: string, key: string): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(content).toString('base64url');
  const signature = createHmac('sha256', key).update(`${h}.${p}`).digest('base64url');
  return `${h}..${signature}`;
}

describe('verifyDetachedJws', () => {
  it('accepts the bootstrap signer format: HS256 keyed with the token secret, kid = token id', () => {
    expect(
      verifyDetachedJws(sign({ alg: 'HS256', kid: 'abcdef' }, payload, token.secret), payload, token),
    ).toBe(true);
  });

  it('rejects another secret, another payload, another kid, another algorithm and a non-detached JWS', () => {
    const good = sign({ alg: 'HS256', kid: 'abcdef' }, payload, token.secret);
    expect(
      verifyDetachedJws(sign({ alg: 'HS256', kid: 'abcdef' }, payload, 'fedcba9876543210'), payload, token),
    ).toBe(false);
    expect(verifyDetachedJws(good, `${payload}# changed\n`, token)).toBe(false);
    expect(
      verifyDetachedJws(sign({ alg: 'HS256', kid: 'zzzzzz' }, payload, token.secret), payload, token),
    ).toBe(false);
    expect(
      verifyDetachedJws(sign({ alg: 'none', kid: 'abcdef' }, payload, token.secret), payload, token),
    ).toBe(false);
    const [h, , s] = good.split('.');
    expect(verifyDetachedJws(`${h}.${Buffer.from(payload).toString('base64url')}.${s}`, payload, token)).toBe(
      false,
    );
  });
});

describe('token and hash parsing', () => {
  it('rejects a malformed token without echoing it', () => {
    const bad = 'ABCDEF.not-a-token-secret';
    expect(() => parseToken(bad)).toThrow(JoinError);
    expect(() => parseToken(bad)).not.toThrow(bad);
  });

  it('accepts sha256:<64 hex> only', () => {
    expect(parseCaHash(`sha256:${'AB'.repeat(32)}`)).toBe('ab'.repeat(32));
    expect(() => parseCaHash('ab'.repeat(32))).toThrow(/expected sha256:<64 hex digits>/);
    expect(() => parseCaHash(`sha1:${'ab'.repeat(20)}`)).toThrow(JoinError);
  });
});

describe('caPublicKeyHash', () => {
  it('equals the hash kubeadm documents: sha256 of the DER public key, computed with openssl', async () => {
    const dir = (await runChecked(['mktemp', '-d'])).trim();
    const cert = `${dir}/ca.crt`;
    await runChecked([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${dir}/ca.key`,
      '-out',
      cert,
      '-subj',
      '/CN=kubernetes',
      '-days',
      '1',
    ]);
    const expected = await runChecked([
      'sh',
      '-c',
      'openssl x509 -pubkey -noout -in "$1" | openssl pkey -pubin -outform der | sha256sum',
      'hash',
      cert,
    ]);
    expect(caPublicKeyHash(readFileSync(cert, 'utf8'))).toBe(expected.split(' ')[0]);
    await runChecked(['rm', '-rf', dir]);
  });
});
