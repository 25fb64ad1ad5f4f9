// The output helpers behind `validate -o` and the verbs that list things.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CliError,
  EXIT_USAGE,
  parseOutputFormat,
  render,
  renderTable,
  type Column,
} from '../../../cli/output';

interface Row {
  name: string;
  ip: string;
  reason?: string;
}

const rows: Row[] = [
  { name: 'edge-abc123', ip: '172.21.3.194' },
  { name: 'edge-x', ip: '2001:db8::1', reason: 'ssh: permission denied\nfor root' },
];
const columns: Array<Column<Row>> = [
  { header: 'name', value: (r) => r.name },
  { header: 'ip', value: (r) => r.ip },
  { header: 'reason', value: (r) => r.reason, wide: true },
];

describe('renderTable', () => {
  it('aligns columns under upper-case headers, like kubectl', () => {
    expect(renderTable(rows, columns)).toBe(
      ['NAME          IP', 'edge-abc123   172.21.3.194', 'edge-x        2001:db8::1', ''].join('\n'),
    );
  });

  it('adds wide columns with -o wide, empty cells as <none>, one line per row', () => {
    expect(render('wide', rows, columns)).toBe(
      [
        'NAME          IP             REASON',
        'edge-abc123   172.21.3.194   <none>',
        'edge-x        2001:db8::1    ssh: permission denied for root',
        '',
      ].join('\n'),
    );
  });

  it('prints only the header for no rows', () => {
    expect(renderTable([], columns)).toBe('NAME   IP\n');
  });
});

describe('render', () => {
  it('prints the data as JSON or YAML', () => {
    expect(JSON.parse(render('json', rows, columns))).toEqual(rows);
    expect(parse(render('yaml', rows, columns, { items: rows }))).toEqual({ items: rows });
  });
});

describe('parseOutputFormat', () => {
  it('defaults to table and accepts the known formats', () => {
    expect(parseOutputFormat(undefined)).toBe('table');
    expect(parseOutputFormat('wide')).toBe('wide');
  });

  it('refuses an unknown or unsupported format as a usage error', () => {
    expect(() => parseOutputFormat('xml')).toThrow(CliError);
    expect(() => parseOutputFormat('table', ['json', 'yaml'])).toThrow(
      expect.objectContaining({ exitCode: EXIT_USAGE, hint: 'use one of: json, yaml' }),
    );
  });
});
