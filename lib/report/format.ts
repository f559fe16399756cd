// Text and number formatting shared by the report pages and their charts.

/** Escapes text for HTML and XML, attributes included. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Escapes text for a Markdown table cell; < > & as entities so renderers do not take it for HTML. */
export function mdEsc(s: string): string {
  return s
    .replace(/[\\`*|]/g, (c) => '\\' + c)
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)
    .replace(/\r?\n/g, ' ');
}

export const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
export const fixed = (x: number | undefined, d: number): string => (isNum(x) ? x.toFixed(d) : '–');
export const pct = (x: number | undefined, d = 2): string => (isNum(x) ? `${(x * 100).toFixed(d)}%` : '–');
export function int(x: number | undefined): string {
  if (!isNum(x)) return '–';
  return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
export function duration(s: number): string {
  if (!isNum(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
export const value = (v: string | number | boolean): string => (typeof v === 'number' && !Number.isInteger(v) ? String(+v.toPrecision(6)) : String(v));
