// Run reports: one JSON object rendered as a self-contained HTML page (inline CSS and SVG, nothing
// fetched, so it opens offline or straight from S3) and as Markdown.
import type { ClassificationMetrics } from '../metrics';
import type { EpochRecord } from '../../contracts';
import { FONT, SVG_NS, duration, escapeHtml, fixed, int, isNum, mdEsc, pct } from './format';
import { htmlTable, kvTable, mdTable, type Table } from './table';
import { classMetricBarsSvg, stepTimingsSvg } from './charts';
import { GALLERY_CSS, misclassifiedGridHtml, misclassifiedTable, type MisclassifiedImage } from './gallery';
import { cacheTable, stepTimingsTable, type CacheDecision, type StepTiming } from './run-details';

export { FONT, SVG_NS, duration, escapeHtml, fixed, int, isNum, mdEsc, pct, value } from './format';
export { htmlTable, kvTable, mdTable, type Table } from './table';

export interface LayerRow {
  layer: string;
  input: string;
  F: number | null;
  S: number | null;
  P: number | null;
  output: string;
  params: number;
}

export interface RunReport {
  runId: string;
  pipeline: string;
  title: string;
  createdAt: string;
  dataset: { name: string; manifestKey: string; train: number; validation: number; test: number };
  config: Record<string, string | number | boolean>;
  /** backend, node and tfjs versions, seed... */
  environment: Record<string, string | number>;
  classNames: string[];
  history: EpochRecord[];
  test: ClassificationMetrics & { loss?: number; imagesPerSecond?: number };
  layers?: LayerRow[];
  /** artifact name -> S3 key */
  artifacts: Record<string, string>;
  /** step -> seconds, as the workflow measured them */
  timings: Record<string, number>;
  /** Seconds per step measured on the workers, next to the workflow's wall time. */
  steps?: StepTiming[];
  /** Which steps reused stored artifacts, and under which key. */
  cache?: CacheDecision[];
  /** Up to a few dozen misclassified test images, in test-set order. */
  misclassified?: MisclassifiedImage[];
}

const TRAIN_COLOR = '#1f6fb4';
const VAL_COLOR = '#e8710a';
const esc = escapeHtml;

/** Round numbers for SVG coordinates, keeping output short. */
const r = (x: number): string => String(Math.round(x * 10) / 10);

// ---------- SVG: confusion matrix ----------

/** Colour for a share in [0, 1]: white through light to dark blue. */
function heat(v: number): string {
  const stops: [number, number[]][] = [
    [0, [247, 251, 255]],
    [0.35, [158, 202, 225]],
    [1, [8, 48, 107]],
  ];
  let i = 0;
  while (i < stops.length - 2 && v > stops[i + 1][0]) i++;
  const [a, ca] = stops[i];
  const [b, cb] = stops[i + 1];
  const t = Math.min(1, Math.max(0, (v - a) / (b - a)));
  const c = ca.map((x, k) => Math.round(x + (cb[k] - x) * t));
  return `rgb(${c.join(',')})`;
}

/**
 * Heat map of confusion[true][predicted] with counts in the cells. Colour is the share of the
 * true class's row, so rare classes are as readable as common ones.
 */
export function confusionMatrixSvg(confusion: number[][], classNames: string[]): string {
  const n = classNames.length;
  if (confusion.length !== n || confusion.some((row) => row.length !== n)) {
    throw new RangeError(`confusion must be ${n}x${n} to match classNames`);
  }
  const cell = n <= 12 ? 48 : Math.max(14, Math.floor(576 / n));
  const font = Math.min(12, Math.round(cell * 0.28));
  // Text width estimate: no layout engine here, ~0.6em per character is close for sans-serif.
  const labelW = Math.max(...classNames.map((c) => c.length), 4) * 12 * 0.6;
  const left = 34 + labelW + 8;
  const top = 10;
  const grid = n * cell;
  const bottom = labelW * Math.SQRT1_2 + 44;
  const width = left + grid + 20;
  const height = top + grid + bottom;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="${SVG_NS}" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" font-family="${FONT}" role="img" aria-label="Confusion matrix, rows true class, columns predicted class">`,
  );
  for (let t = 0; t < n; t++) {
    const rowSum = confusion[t].reduce((a, b) => a + b, 0);
    for (let p = 0; p < n; p++) {
      const count = confusion[t][p];
      const share = rowSum > 0 ? count / rowSum : 0;
      // Square root lifts small shares so that the typical 1-10% confusions stand out from zero.
      const shade = Math.sqrt(share);
      const x = left + p * cell;
      const y = top + t * cell;
      const tip = `true ${classNames[t]}, predicted ${classNames[p]}: ${count} (${pct(share, 1)} of row)`;
      parts.push(
        `<rect class="cell" x="${r(x)}" y="${r(y)}" width="${cell}" height="${cell}" fill="${heat(shade)}" stroke="#fff" stroke-width="1"><title>${esc(tip)}</title></rect>`,
      );
      if (cell >= 18) {
        parts.push(
          `<text x="${r(x + cell / 2)}" y="${r(y + cell / 2)}" text-anchor="middle" dominant-baseline="central" font-size="${font}" fill="${shade > 0.62 ? '#fff' : '#1a1a1a'}">${count}</text>`,
        );
      }
    }
  }
  // Row labels (true class) right-aligned against the grid.
  for (let t = 0; t < n; t++) {
    parts.push(
      `<text x="${r(left - 6)}" y="${r(top + t * cell + cell / 2)}" text-anchor="end" dominant-baseline="central" font-size="12">${esc(classNames[t])}</text>`,
    );
  }
  // Column labels rotated so long names do not collide.
  for (let p = 0; p < n; p++) {
    const x = left + p * cell + cell / 2;
    const y = top + grid + 8;
    parts.push(
      `<text x="${r(x)}" y="${r(y)}" text-anchor="end" dominant-baseline="central" font-size="12" transform="rotate(-45 ${r(x)} ${r(y)})">${esc(classNames[p])}</text>`,
    );
  }
  parts.push(
    `<text x="${r(left + grid / 2)}" y="${r(height - 10)}" text-anchor="middle" font-size="13" font-weight="600">Predicted class</text>`,
    `<text x="14" y="${r(top + grid / 2)}" text-anchor="middle" dominant-baseline="central" font-size="13" font-weight="600" transform="rotate(-90 14 ${r(top + grid / 2)})">True class</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

// ---------- SVG: learning curves ----------

interface Ticks {
  ticks: number[];
  decimals: number;
}

/** Ticks at 1/2/5 x 10^k steps spanning [min, max], clamped to bounds when given. */
function niceTicks(min: number, max: number, target: number, bounds?: [number, number], minStep = 0): Ticks {
  if (!isNum(min) || !isNum(max)) [min, max] = [0, 1];
  if (max === min) {
    const pad = Math.abs(min) * 0.1 || 1;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = Math.max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  let lo = Math.floor(min / step + 1e-9) * step;
  let hi = Math.ceil(max / step - 1e-9) * step;
  if (bounds) [lo, hi] = [Math.max(lo, bounds[0]), Math.min(hi, bounds[1])];
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step * 1e-6; v += step) ticks.push(+v.toFixed(decimals));
  return { ticks, decimals };
}

interface Series {
  color: string;
  dashed: boolean;
  points: [number, number][];
}

function panel(x0: number, y0: number, w: number, h: number, title: string, yLabel: string, series: Series[], unit: string, bounds?: [number, number]): string {
  const ml = 58, mr = 14, mt = 30, mb = 42;
  const px = x0 + ml, py = y0 + mt, pw = w - ml - mr, ph = h - mt - mb;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => isNum(x) && isNum(y));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [xmin, xmax] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (xmin === xmax) [xmin, xmax] = [xmin - 1, xmax + 1];
  const yt = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5, bounds);
  const [ymin, ymax] = [yt.ticks[0], yt.ticks[yt.ticks.length - 1]];
  const sx = (x: number) => px + ((x - xmin) / (xmax - xmin)) * pw;
  const sy = (y: number) => py + ph - ((y - ymin) / (ymax - ymin || 1)) * ph;

  const out: string[] = [`<g>`, `<text x="${r(x0 + 4)}" y="${r(y0 + 16)}" font-size="14" font-weight="600">${esc(title)}</text>`];
  for (const t of yt.ticks) {
    const y = sy(t);
    out.push(
      `<line x1="${r(px)}" y1="${r(y)}" x2="${r(px + pw)}" y2="${r(y)}" stroke="#e4e7eb" stroke-width="1"/>`,
      `<text x="${r(px - 6)}" y="${r(y)}" text-anchor="end" dominant-baseline="central" font-size="11" fill="#444">${t.toFixed(yt.decimals)}${unit}</text>`,
    );
  }
  const xt = niceTicks(xmin, xmax, Math.min(10, Math.max(1, xmax - xmin)), undefined, 1).ticks.filter((t) => t >= xmin && t <= xmax);
  for (const t of xt) {
    const x = sx(t);
    out.push(
      `<line x1="${r(x)}" y1="${r(py + ph)}" x2="${r(x)}" y2="${r(py + ph + 5)}" stroke="#444" stroke-width="1"/>`,
      `<text x="${r(x)}" y="${r(py + ph + 17)}" text-anchor="middle" font-size="11" fill="#444">${t}</text>`,
    );
  }
  out.push(
    `<line x1="${r(px)}" y1="${r(py)}" x2="${r(px)}" y2="${r(py + ph)}" stroke="#444" stroke-width="1"/>`,
    `<line x1="${r(px)}" y1="${r(py + ph)}" x2="${r(px + pw)}" y2="${r(py + ph)}" stroke="#444" stroke-width="1"/>`,
    `<text x="${r(px + pw / 2)}" y="${r(y0 + h - 6)}" text-anchor="middle" font-size="12">Epoch</text>`,
    `<text x="${r(x0 + 12)}" y="${r(py + ph / 2)}" text-anchor="middle" dominant-baseline="central" font-size="12" transform="rotate(-90 ${r(x0 + 12)} ${r(py + ph / 2)})">${esc(yLabel)}</text>`,
  );
  for (const s of series) {
    // A non-finite value (e.g. a NaN loss) breaks the line instead of poisoning the path.
    let d = '';
    let pen = false;
    const dots: string[] = [];
    for (const [x, y] of s.points) {
      if (!isNum(x) || !isNum(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${r(sx(x))} ${r(sy(y))} `;
      pen = true;
      dots.push(`<circle cx="${r(sx(x))}" cy="${r(sy(y))}" r="3" fill="${s.color}"/>`);
    }
    if (d) {
      out.push(
        `<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
        ...dots,
      );
    }
  }
  out.push('</g>');
  return out.join('\n');
}

/** Loss and accuracy per epoch, training (solid) against validation (dashed), side by side. */
export function learningCurvesSvg(history: EpochRecord[]): string {
  const width = 960, height = 330, legendH = 28, gap = 20;
  const pw = (width - gap) / 2;
  const head = `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img" aria-label="Learning curves: loss and accuracy per epoch">`;
  if (history.length === 0) {
    return `${head}\n<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="14" fill="#666">No epochs recorded</text>\n</svg>`;
  }
  const pts = (f: (e: EpochRecord) => number): [number, number][] => history.map((e) => [e.epoch, f(e)]);
  const legend = (x: number, color: string, dashed: boolean, label: string) =>
    `<line x1="${x}" y1="14" x2="${x + 28}" y2="14" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
    `<text x="${x + 34}" y="14" dominant-baseline="central" font-size="12">${label}</text>`;
  const cx = width / 2;
  return [
    head,
    legend(cx - 130, TRAIN_COLOR, false, 'training'),
    legend(cx + 10, VAL_COLOR, true, 'validation'),
    panel(0, legendH, pw, height - legendH, 'Loss', 'Cross-entropy loss', [
      { color: TRAIN_COLOR, dashed: false, points: pts((e) => e.loss) },
      { color: VAL_COLOR, dashed: true, points: pts((e) => e.valLoss) },
    ], ''),
    panel(pw + gap, legendH, pw, height - legendH, 'Accuracy', 'Accuracy', [
      { color: TRAIN_COLOR, dashed: false, points: pts((e) => e.accuracy * 100) },
      { color: VAL_COLOR, dashed: true, points: pts((e) => e.valAccuracy * 100) },
    ], '%', [0, 100]),
    '</svg>',
  ].join('\n');
}

// ---------- tables shared by both renderers ----------

function sections(rep: RunReport) {
  const d = rep.dataset;
  const t = rep.test;
  return {
    dataset: {
      head: ['', ''],
      rows: [
        ['Name', d.name],
        ['Manifest', d.manifestKey],
        ['Training images', int(d.train)],
        ['Validation images', int(d.validation)],
        ['Test images', int(d.test)],
      ],
    } as Table,
    config: kvTable(rep.config),
    environment: kvTable(rep.environment),
    artifacts: kvTable(rep.artifacts),
    history: historyTable(rep.history),
    perClass: perClassTable(t),
    layers: rep.layers && {
      head: ['Layer', 'Input', 'F', 'S', 'P', 'Output', 'Params'],
      rows: [
        ...rep.layers.map((l) => [l.layer, l.input, opt(l.F), opt(l.S), opt(l.P), l.output, int(l.params)]),
        ['Total', '', '', '', '', '', int(rep.layers.reduce((a, l) => a + l.params, 0))],
      ],
      numeric: [2, 3, 4, 6],
    } as Table,
  };
}
/** One row per epoch: loss and accuracy for training and validation, time, throughput. */
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
const opt = (x: number | null) => (x === null ? '–' : String(x));

// ---------- HTML ----------

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


// Inline SVG in HTML needs no namespace declaration; dropping it keeps the page free of any URL.
export const inlineSvg = (svg: string): string => svg.replace(` xmlns="${SVG_NS}"`, '');

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

export function renderHtml(report: RunReport, images?: Record<string, string>): string {
  const s = sections(report);
  const t = report.test;
  const box = htmlKvBox;
  const card = htmlCard;
  const cards = [card('Test accuracy', pct(t.accuracy), true), card('Macro F1', fixed(t.macroF1, 3))];
  if (isNum(t.loss)) cards.push(card('Test loss', fixed(t.loss, 4)));
  cards.push(card('Test images', int(t.count)));
  if (isNum(t.imagesPerSecond)) cards.push(card('Test images/s', int(t.imagesPerSecond)));
  if (report.history.length) cards.push(card('Epochs', String(report.history.length)));
  const mis = report.misclassified ?? [];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)} – ${pct(t.accuracy)} test accuracy</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>${esc(report.title)}</h1>
<p class="meta">Run <code>${esc(report.runId)}</code> · pipeline ${esc(report.pipeline)} · ${esc(report.createdAt)}</p>
<div class="cards">${cards.join('')}</div>

<h2>Summary</h2>
<div class="grid">
${box('Dataset', s.dataset)}
${box('Configuration', s.config)}
${box('Environment', s.environment)}
${box('Artifacts', s.artifacts)}
</div>

<h2>Learning curves</h2>
<div class="figure">${inlineSvg(learningCurvesSvg(report.history))}</div>
<div class="box" style="margin-top:12px">${htmlTable(s.history)}</div>

<h2>Test set: per-class metrics</h2>
<div class="split">
<div class="figure">${inlineSvg(classMetricBarsSvg(t.perClass))}</div>
<div class="box">${htmlTable(s.perClass, { totalRow: true })}</div>
</div>
<p class="note">Precision, recall and F1 are 0 for a class that was never predicted or has no test images.</p>

<h2>Confusion matrix</h2>
<div class="figure">${inlineSvg(confusionMatrixSvg(t.confusion, report.classNames))}</div>
<p class="note">Rows are true classes, columns predicted classes; cells show counts, shaded by share of the row (square-root scale).</p>

<h2>Misclassified test images</h2>
<p class="note">${mis.length ? `The first ${mis.length} test images the model got wrong.` : 'No misclassified test images were recorded.'}</p>
${mis.length ? misclassifiedGridHtml(mis, images) : ''}

${runDetailsHtml(report.cache, report.steps ?? wallOnly(report.timings))}
${s.layers ? `\n<h2>Model layers</h2>\n<div class="box">${htmlTable(s.layers, { totalRow: true })}</div>\n<p class="note">F: kernel or pool size, S: stride, P: padding.</p>` : ''}
</main>
</body>
</html>
`;
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

// ---------- Markdown ----------


export function renderMarkdown(report: RunReport): string {
  const s = sections(report);
  const t = report.test;
  const headline = [`**Test accuracy: ${pct(t.accuracy)}**`, `macro F1 ${fixed(t.macroF1, 3)}`];
  if (isNum(t.loss)) headline.push(`test loss ${fixed(t.loss, 4)}`);
  headline.push(`${int(t.count)} test images`);
  if (isNum(t.imagesPerSecond)) headline.push(`${int(t.imagesPerSecond)} images/s`);

  const confusion: Table = {
    head: ['True ↓ / predicted →', ...report.classNames],
    rows: t.confusion.map((row, i) => [report.classNames[i], ...row.map(String)]),
    numeric: report.classNames.map((_, i) => i + 1),
  };
  const kvMd = (title: string, tbl: Table) => `### ${title}\n\n${mdTable({ ...tbl, head: ['Key', 'Value'] })}`;
  const out = [
    `# ${mdEsc(report.title)}`,
    headline.join(' · '),
    `Run ${mdEsc(report.runId)} · pipeline ${mdEsc(report.pipeline)} · ${mdEsc(report.createdAt)}`,
    '## Summary',
    kvMd('Dataset', s.dataset),
    kvMd('Configuration', s.config),
    kvMd('Environment', s.environment),
    kvMd('Artifacts', s.artifacts),
    '## Training history',
    report.history.length ? mdTable(s.history) : 'No epochs recorded.',
    '## Test set: per-class metrics',
    mdTable(s.perClass),
    'Precision, recall and F1 are 0 for a class that was never predicted or has no test images.',
    '## Confusion matrix',
    'Rows are true classes, columns predicted classes.',
    mdTable(confusion),
    '## Misclassified test images',
    report.misclassified?.length ? mdTable(misclassifiedTable(report.misclassified)) : 'None recorded.',
    ...runDetailsMarkdown(report.cache, report.steps ?? wallOnly(report.timings)),
  ];
  if (s.layers) out.push('## Model layers', mdTable(s.layers), 'F: kernel or pool size, S: stride, P: padding.');
  return out.join('\n\n') + '\n';
}
