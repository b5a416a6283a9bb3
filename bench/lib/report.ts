// The results file's shape, the aims from the issues and the table printed at the end.

export interface Aim {
  id: string;
  description: string;
  measured: number | null;
  unit: string;
  /** What the measured figure is compared against (already multiplied out, e.g. 0.9 × dd). */
  target: number | null;
  comparator: '>=' | '<=' | '<';
  /** null when the figure could not be measured (e.g. no WebDAV yet). */
  met: boolean | null;
  basis: string;
  note?: string;
}

export function aim(a: Omit<Aim, 'met'>): Aim {
  const met = a.measured === null || a.target === null || !Number.isFinite(a.measured)
    ? null
    : a.comparator === '>=' ? a.measured >= a.target : a.comparator === '<=' ? a.measured <= a.target : a.measured < a.target;
  return { ...a, met };
}

const fmt = (n: number | null, unit: string): string => {
  if (n === null || !Number.isFinite(n)) return '—';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${unit}`.trim();
};

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The aims as rows (header first), for `table` or `markdownTable`. */
export function aimsRows(aims: Aim[]): string[][] {
  return [
    ['Aim', 'Measured', 'Target', 'Met'],
    ...aims.map((a) => [a.description, fmt(a.measured, a.unit), `${a.comparator} ${fmt(a.target, a.unit)}`, a.met === null ? 'n/a' : a.met ? 'yes' : 'NO']),
  ];
}

/** A markdown table from rows whose first row is the header (leading spaces kept as indentation). */
export function markdownTable(rows: string[][]): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/^ +/, (m) => '&nbsp;'.repeat(m.length));
  const [head, ...body] = rows;
  return [head ?? [], (head ?? []).map(() => '---'), ...body].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

export { fmt };
