/**
 * What the CLI prints: kubectl-like tables, JSON and YAML (`-o table|wide|json|yaml`), and errors as
 * one line plus a hint. Verbs build rows and columns; this module decides how they look.
 */
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Exit codes: 1 for input that is wrong or an operation that failed, 2 for a wrong command line. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the user can act on: printed as `error: <message>` and `hint: <hint>`, never with a stack. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Validates an `-o` value; `allowed` narrows the formats a verb supports. */
export function parseOutputFormat(
  value: string | undefined,
  allowed: readonly OutputFormat[] = OUTPUT_FORMATS,
): OutputFormat {
  const format = value ?? 'table';
  if ((allowed as readonly string[]).includes(format)) return format as OutputFormat;
  throw new CliError(`unknown output format "${format}"`, EXIT_USAGE, `use one of: ${allowed.join(', ')}`);
}

export interface Column<T> {
  /** Printed upper-case, as kubectl does. */
  header: string;
  value: (row: T) => string | number | undefined;
  /** Shown with `-o wide` only. */
  wide?: boolean;
}

const COLUMN_GAP = '   ';

/** Aligned columns, headers upper-case, empty cells as `<none>`; the last column is not padded. */
export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>, wide = false): string {
  const shown = columns.filter((c) => wide || !c.wide);
  const cells = rows.map((row) => shown.map((c) => cellText(c.value(row))));
  const header = shown.map((c) => c.header.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join(COLUMN_GAP)
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

function cellText(value: string | number | undefined): string {
  if (value === undefined || value === '') return '<none>';
  // A cell is one line: a newline would break the alignment of every row after it.
  return String(value).replace(/\s+/g, ' ');
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function renderYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** Renders rows as a table, or `data` (the rows by default) as JSON or YAML. */
export function render<T>(
  format: OutputFormat,
  rows: readonly T[],
  columns: ReadonlyArray<Column<T>>,
  data: unknown = rows,
): string {
  switch (format) {
    case 'json':
      return renderJson(data);
    case 'yaml':
      return renderYaml(data);
    case 'wide':
      return renderTable(rows, columns, true);
    case 'table':
      return renderTable(rows, columns);
  }
}

/** Prints an error as one line plus an optional hint; stacks only with PENETRATOR_DEBUG=1. */
export function printError(message: string, hint?: string, stack?: string): void {
  process.stderr.write(`error: ${message}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  if (stack && process.env.PENETRATOR_DEBUG === '1') process.stderr.write(`${stack}\n`);
}
