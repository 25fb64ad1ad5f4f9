import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContextKeys } from '../../../infra/config';
import { ErrorNames } from '../../../lambdas/errors';

// The guides name things the code defines; these tests fail when the code grows something the
// guides do not explain, or a guide links to a file that is gone.

const DOCS = resolve(import.meta.dirname, '../../../docs');
const read = (name: string) => readFileSync(resolve(DOCS, name), 'utf8');

/** Rows of the markdown table whose header row starts with `first`, as cell arrays. */
function tableRows(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
  expect(start, `a table starting with "${first}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('docs/operator-guide.md', () => {
  const guide = read('operator-guide.md');

  it('has a troubleshooting entry for every Step Functions error name the workflow raises', () => {
    const entries = tableRows(guide, 'error').map((row) => row[0]!.replace(/`/g, ''));
    for (const name of Object.values(ErrorNames)) expect(entries).toContain(name);
  });

  it('documents every CDK context key', () => {
    const keys = tableRows(guide, 'context key').flatMap(
      (row) => row[0]!.match(/penetrator:[A-Za-z0-9]+/g) ?? [],
    );
    expect(new Set(keys)).toEqual(new Set(Object.values(ContextKeys)));
  });
});

describe('links between the docs', () => {
  it.each(['operator-guide.md', 'security.md'])('every relative link of %s resolves', (name) => {
    const text = read(name);
    const links = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    const missing = links.filter((link) => !existsSync(resolve(dirname(resolve(DOCS, name)), link)));
    expect(missing).toEqual([]);
  });
});
