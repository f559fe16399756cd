// Pieces every report page shares: the stylesheet, headline cards, key/value boxes, and the
// closing sections on cache decisions and per-step timings (HTML and Markdown).
import type { ClassificationMetrics } from '../metrics';
import type { EpochRecord } from '../../contracts';
import { duration, escapeHtml as esc, fixed, int, pct } from './format';
import { htmlTable, mdTable, type Table } from './table';
import { stepTimingsSvg } from './charts';
import { GALLERY_CSS } from './gallery';
import { FONT, inlineSvg } from './svg';
import { cacheTable, stepTimingsTable, type CacheDecision, type StepTiming } from './run-details';

/** The report pages' stylesheet; other report pages append their own rules to it. */
export const REPORT_CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2329;font:14px/1.45 ${FONT}}
main{max-width:1040px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid #dde1e6}
.meta{color:#5b6570;margin:0 0 18px}
.meta code{font-size:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1 1 0;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 16px;white-space:nowrap}
.card .v{font-size:26px;font-weight:650}
.card.main .v{font-size:34px;color:#0b5394}
.card .k{color:#5b6570;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px;align-items:start}
.box{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px 12px;overflow-x:auto}
.box h3{font-size:13px;margin:2px 0 6px;color:#3b444d;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;text-align:left;border-bottom:1px solid #eef0f2;vertical-align:top}
th{font-weight:600;color:#3b444d;background:#f9fafb}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:none}
tr.total td{font-weight:600;border-top:2px solid #dde1e6}
.kv td:first-child{color:#5b6570;white-space:nowrap;width:1%}
.kv td:last-child{overflow-wrap:anywhere}
.figure{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px;overflow-x:auto}
svg{max-width:100%;height:auto;display:block;margin:0 auto}
.note{color:#5b6570;font-size:12px;margin:6px 0 0}
.none{color:#8a949e;font-style:italic;margin:4px 0}
.cache td:nth-child(-n+2){white-space:nowrap}
.split{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
.split>*{flex:1 1 320px;min-width:0}
${GALLERY_CSS}`;


/** A titled box holding a key/value table; long values wrap at slashes. */
export function htmlKvBox(title: string, tbl: Table): string {
  return `<div class="box"><h3>${esc(title)}</h3>${htmlTable(tbl, { cls: 'kv', breakAfterSlash: true })}</div>`;
}

/** A headline number with its caption; `main` makes it the big one. */
export function htmlCard(k: string, v: string, main = false): string {
  return `<div class="card${main ? ' main' : ''}"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`;
}

/** Cache decisions and per-step timings, shared by every report page. */
export function runDetailsHtml(cache: CacheDecision[] | undefined, steps: StepTiming[] | undefined): string {
  const out: string[] = ['<h2>Cache decisions</h2>'];
  out.push(cache?.length ? `<div class="box">${htmlTable(cacheTable(cache), { cls: 'cache', breakAfterSlash: true })}</div>` : '<p class="none">none recorded</p>');
  out.push('<h2>Timings per step</h2>');
  if (steps?.length) {
    out.push(
      `<div class="figure">${inlineSvg(stepTimingsSvg(steps))}</div>`,
      `<div class="box" style="margin-top:12px">${htmlTable(stepTimingsTable(steps), { totalRow: true })}</div>`,
      '<p class="note">Worker time: seconds the step\'s activities ran on the workers (parallel activities summed). Wall time: the step\'s start to end as the workflow saw it, queueing and retries included.</p>',
    );
  } else {
    out.push('<p class="none">none recorded</p>');
  }
  return out.join('\n');
}

/** Older reports recorded only the workflow's wall time per step. */
export function wallOnly(timings: Record<string, number>): StepTiming[] {
  return Object.entries(timings).map(([step, wallSeconds]) => ({ step, wallSeconds }));
}

/** Cache decisions and per-step timings as Markdown sections. */
export function runDetailsMarkdown(cache: CacheDecision[] | undefined, steps: StepTiming[] | undefined): string[] {
  return [
    '## Cache decisions',
    cache?.length ? mdTable(cacheTable(cache)) : 'None recorded.',
    '## Timings per step',
    steps?.length ? mdTable(stepTimingsTable(steps)) : 'None recorded.',
  ];
}

/** Tables both pipelines' pages show: the epochs of a training run, and per-class test metrics. */
export function historyTable(history: EpochRecord[]): Table {
  return {
    head: ['Epoch', 'Loss', 'Accuracy', 'Val loss', 'Val accuracy', 'Time', 'Images/s'],
    rows: history.map((e) => [String(e.epoch), fixed(e.loss, 4), pct(e.accuracy), fixed(e.valLoss, 4), pct(e.valAccuracy), duration(e.seconds), int(e.imagesPerSecond)]),
    numeric: [0, 1, 2, 3, 4, 5, 6],
  };
}

/** Precision, recall, F1 and support per class, with a macro-average row last. */
export function perClassTable(t: ClassificationMetrics): Table {
  return {
    head: ['Class', 'Precision', 'Recall', 'F1', 'Support'],
    rows: [
      ...t.perClass.map((c) => [c.className, fixed(c.precision, 3), fixed(c.recall, 3), fixed(c.f1, 3), int(c.support)]),
      ['Macro average', fixed(mean(t.perClass.map((c) => c.precision)), 3), fixed(mean(t.perClass.map((c) => c.recall)), 3), fixed(t.macroF1, 3), int(t.count)],
    ],
    numeric: [1, 2, 3, 4],
  };
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
