/**
 * Plain-text tables for the CLI: every column as wide as its widest cell (header included), numbers right-aligned,
 * the last column unpadded, so headers line up with their columns whatever the values are.
 */
export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Right-align (numbers). */
  right?: boolean;
}

export function formatTable<T>(columns: ReadonlyArray<Column<T>>, rows: readonly T[]): string {
  const cells = rows.map((r) => columns.map((c) => {
    const v = c.value(r);
    return v === null || v === undefined || v === '' ? '-' : String(v).replace(/[\r\n\t]+/g, ' ');
  }));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => {
    if (i === values.length - 1 && !columns[i].right) return v;
    return columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]);
  }).join('  ');
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
