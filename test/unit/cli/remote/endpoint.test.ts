import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../../../cli/remote/endpoint';
import { humanDuration } from '../../../../cli/remote/render';

const API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/';

describe('endpoint and region', () => {
  it('takes the flag over the environment, and the region from the host when nothing else names it', () => {
    expect(resolveTarget({ endpoint: API }, {})).toEqual({ endpoint: new URL(API), region: 'eu-west-1' });
    expect(resolveTarget({}, { PENETRATOR_ENDPOINT: API, AWS_REGION: 'us-east-2' }).region).toBe('us-east-2');
    expect(
      resolveTarget({ region: 'ap-southeast-1' }, { PENETRATOR_ENDPOINT: API, AWS_REGION: 'us-east-2' })
        .region,
    ).toBe('ap-southeast-1');
    expect(resolveTarget({}, { PENETRATOR_ENDPOINT: API, AWS_DEFAULT_REGION: 'eu-north-1' }).region).toBe(
      'eu-north-1',
    );
  });

  it('says where to find the endpoint when none is given', () => {
    expect(() => resolveTarget({}, {})).toThrow('no Penetrator API endpoint given');
  });

  it('refuses plain http except on loopback, and URLs carrying credentials', () => {
    expect(() =>
      resolveTarget({ endpoint: 'http://api.example.com/prod/', region: 'eu-west-1' }, {}),
    ).toThrow('the API endpoint must use https: received http://api.example.com');
    expect(
      resolveTarget({ endpoint: 'http://127.0.0.1:8080/prod/', region: 'eu-west-1' }, {}).endpoint.port,
    ).toBe('8080');
    expect(() =>
      resolveTarget({ endpoint: 'https://user:pw@api.example.com/', region: 'eu-west-1' }, {}),
    ).toThrow(/without credentials/);
  });

  it('asks for a region when a custom domain does not say it', () => {
    expect(() => resolveTarget({ endpoint: 'https://penetrator.example.com/' }, {})).toThrow(
      'no AWS region for penetrator.example.com',
    );
    expect(() => resolveTarget({ endpoint: API, region: 'Europe' }, {})).toThrow(
      '"Europe" is not an AWS region name',
    );
  });
});

describe('ages', () => {
  it('reads like kubectl: seconds, then minutes, hours, days', () => {
    expect(
      [
        0,
        59,
        119,
        120,
        150,
        599,
        600,
        3600 * 2.5,
        3600 * 5 + 60 * 7,
        3600 * 30,
        86_400 * 3 + 3600 * 4,
        86_400 * 40,
        86_400 * 800,
      ].map(humanDuration),
    ).toEqual([
      '0s',
      '59s',
      '119s',
      '2m',
      '2m30s',
      '9m59s',
      '10m',
      '150m',
      '5h7m',
      '30h',
      '3d4h',
      '40d',
      '2y',
    ]);
  });
});
