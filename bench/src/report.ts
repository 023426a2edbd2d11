import type { Summary, Target, Verdict } from './stats.js';

export interface ReportHeader {
  readonly date: string;
  readonly machine: string;
  readonly node: string;
  readonly redis: string;
  readonly load: string;
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = unit === 'MB' || ((unit === 'ms' || unit === 'µs') && value < 100) ? 1 : 0;
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${text} ${unit}`;
}

function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a';
}

export function describeTarget(target: Target, unit: string): string {
  switch (target.kind) {
    case 'ratio-at-least':
      return `≥ ${target.ratio.toFixed(2)}× baseline`;
    case 'ratio-at-most':
      return `≤ ${target.ratio}× baseline`;
    case 'at-most':
      return `≤ ${target.limit.toLocaleString('en-US')} ${unit}`;
    case 'linear-at-most':
      return `≤ ${target.slope} × baseline + ${target.intercept} ${unit}`;
    case 'none':
      return '—';
  }
}

const HEADINGS = ['figure', 'value', 'baseline', 'ratio', 'target', 'result'] as const;

const RESULT_CELLS: Record<Verdict, string> = {
  pass: 'pass',
  fail: 'FAIL',
  'no target': '—',
  'not measured (smoke)': 'not measured (smoke)',
};

function cells(summary: Summary): string[] {
  return [
    summary.label,
    formatValue(summary.value, summary.unit),
    `${formatValue(summary.baseline, summary.unit)} (${summary.baselineLabel})`,
    formatRatio(summary.ratio),
    describeTarget(summary.target, summary.unit),
    RESULT_CELLS[summary.verdict],
  ];
}

/** A plain-text table for the terminal. */
export function textTable(summaries: readonly Summary[]): string {
  const rows = [[...HEADINGS], ...summaries.map(cells)];
  const widths = HEADINGS.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(rows[0] ?? []), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.slice(1).map(line)].join(
    '\n',
  );
}

/**
 * The same table in Markdown, with the conditions it was measured in;
 * columns padded as Prettier pads them, so the file passes `prettier --check`.
 */
export function markdownTable(summaries: readonly Summary[], header: ReportHeader, notes: readonly string[]): string {
  const rows = summaries.map(cells);
  const widths = HEADINGS.map((heading, column) =>
    Math.max(heading.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const row = (values: readonly string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    `Measured ${header.date} on ${header.machine}; ${header.node}; ${header.redis}; ${header.load}.`,
    '',
    row(HEADINGS),
    row(widths.map((width) => '-'.repeat(width))),
    ...rows.map(row),
    '',
    ...notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}
