/** The q-quantile (0 ≤ q ≤ 1) of the values, by the nearest-rank method. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;

/** `value` with `digits` decimals, or "-" when there is no value. */
export const fixed = (value: number | null, digits: number): string =>
  value === null || Number.isNaN(value) ? '-' : value.toFixed(digits);

/** A plain-text table: the first column left-aligned (labels), the others right-aligned (figures). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export const LATENCY_HEADER = ['mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'] as const;

/** Latencies as table cells, in LATENCY_HEADER's order. */
export const latencyCells = (latenciesMs: readonly number[], digits = 0): string[] =>
  [mean(latenciesMs), ...[0.5, 0.95, 0.99, 1].map((q) => quantile(latenciesMs, q))].map((value) => fixed(value, digits));

/**
 * A figure against its target, and the verdict, as the reports' target lines end:
 * "0.86 ≥ 0.8 → MET", "260 MB > 250 MB → NOT MET".
 */
export function againstTarget(figure: string, limit: string, met: boolean, wanted: 'at least' | 'at most'): string {
  const sign = wanted === 'at least' ? (met ? '≥' : '<') : met ? '≤' : '>';
  return `${figure} ${sign} ${limit} → ${met ? 'MET' : 'NOT MET'}`;
}
