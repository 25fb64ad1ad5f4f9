import { describe, expect, it } from 'vitest';
import { placeholderEnvironment, resolveTemplateValue } from '../../../cli/local/definition';

const { accountId, region, urlSuffix } = placeholderEnvironment;
const resources = { InstallerRepo: { Type: 'AWS::ECR::Repository' } };

describe('template values read by the local runner', () => {
  it('resolve the string form of Fn::Sub, as CDK writes an image asset URI', () => {
    const uri = resolveTemplateValue({
      'Fn::Sub': '${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/assets:abc123',
    });
    expect(uri).toBe(`${accountId}.dkr.ecr.${region}.${urlSuffix}/assets:abc123`);
  });

  it('resolve references and attributes inside Fn::Sub, and keep ${!literal} as written', () => {
    expect(
      resolveTemplateValue({ 'Fn::Sub': '${InstallerRepo}|${InstallerRepo.Arn}|${!Keep}' }, resources),
    ).toBe(
      [
        `arn:aws:ecr:${region}:${accountId}:InstallerRepo`,
        `arn:aws:ecr:${region}:${accountId}:InstallerRepo`,
        '${Keep}',
      ].join('|'),
    );
  });

  it('refuse an intrinsic they cannot resolve, naming it', () => {
    expect(() => resolveTemplateValue({ 'Fn::ImportValue': 'x' })).toThrow(/Fn::ImportValue/);
  });
});
