// Tables shared by the report pages: one description, rendered as HTML or as Markdown.
import { escapeHtml as esc, mdEsc, value } from './format';

export interface Table {
  head: string[];
  rows: string[][];
  /** Columns holding numbers, right-aligned. */
  numeric?: number[];
}

export function kvTable(record: Record<string, string | number | boolean>, fmt: (v: string | number | boolean) => string = value): Table {
  const rows = Object.entries(record).map(([k, v]) => [k, fmt(v)]);
  return { head: ['', ''], rows: rows.length ? rows : [['(none)', '']] };
}

export function htmlTable(t: Table, opts: { cls?: string; totalRow?: boolean; breakAfterSlash?: boolean } = {}): string {
  const num = new Set(t.numeric ?? []);
  const c = (i: number) => (num.has(i) ? ' class="n"' : '');
  const head = t.head.some((h) => h) ? `<thead><tr>${t.head.map((h, i) => `<th${c(i)}>${esc(h)}</th>`).join('')}</tr></thead>` : '';
  const rows = t.rows.map((row, ri) => {
    const total = opts.totalRow && ri === t.rows.length - 1 ? ' class="total"' : '';
    // S3 keys are long; let them wrap at path separators rather than mid-word.
    const cell = (v: string) => (opts.breakAfterSlash ? esc(v).replace(/\//g, '/<wbr>') : esc(v));
    return `<tr${total}>${row.map((v, i) => `<td${c(i)}>${cell(v)}</td>`).join('')}</tr>`;
  });
  return `<table${opts.cls ? ` class="${opts.cls}"` : ''}>${head}<tbody>${rows.join('')}</tbody></table>`;
}

export function mdTable(t: Table): string {
  const num = new Set(t.numeric ?? []);
  const head = t.head.map((h) => mdEsc(h) || ' ');
  const sep = t.head.map((_, i) => (num.has(i) ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(sep), ...t.rows.map((row) => line(row.map(mdEsc)))].join('\n');
}
