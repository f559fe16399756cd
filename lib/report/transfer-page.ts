// The transfer-learning report: both methods side by side and the one chosen, rendered as a
// self-contained HTML page (inline CSS and SVG, thumbnails only as data: URLs, no scripts) and as
// Markdown. The building blocks (tables, charts, page pieces) are shared with the lab-CNN page.
import type { ClassificationMetrics } from '../metrics';
import type { StageSpec, StageRecord } from '../../contracts';
import { duration, escapeHtml as esc, fixed, int, isNum, mdEsc, pct, value } from './format';
import { htmlTable, kvTable, mdTable, type Table } from './table';
import { confusionMatrixSvg } from './confusion-matrix';
import { learningCurvesSvg } from './learning-curves';
import { REPORT_CSS, historyTable, htmlKvBox, perClassTable, runDetailsHtml, runDetailsMarkdown, wallOnly } from './page';
import { inlineSvg, r, svgOpen } from './svg';
import { classMetricBarsSvg } from './charts';
import { misclassifiedGridHtml, misclassifiedTable as galleryTable, type MisclassifiedImage } from './gallery';
import type { MethodReport, TransferReport } from './transfer';

const METHOD_COLORS = ['#1f6fb4', '#e8710a', '#2e9e44', '#8e5cc4', '#c2417a', '#6b7785'];
const METHOD_NAMES: Record<string, string> = {
  features: 'Feature extraction + logistic regression',
  finetune: 'Fine-tuning',
};
/** Longest list (rejected files, duplicates...) shown in full; the rest is counted. */
const LIST_LIMIT = 200;

const methodLabel = (m: MethodReport): string => m.label || METHOD_NAMES[m.method] || m.method;
const shortSha = (sha: string): string => (sha.length > 16 ? `${sha.slice(0, 16)}…` : sha);
const lr = (x: number): string => (!isNum(x) ? '–' : x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : value(x));

// ---------- SVG: per-class bars ----------

type BarsInput = { label: string; perClass: { className: string; f1: number; precision: number; recall: number }[] }[];

/** Grouped bars of F1 per class, one colour per method, with a legend. One <rect> per bar, none elsewhere. */
export function perClassBarsSvg(methods: BarsInput): string {
  const classes: string[] = [];
  for (const m of methods) for (const c of m.perClass) if (!classes.includes(c.className)) classes.push(c.className);
  const nm = methods.length;
  const nc = classes.length;
  const head = (w: number, h: number) =>
    svgOpen(w, h, 'F1 per class, one bar per method');
  if (nm === 0 || nc === 0) {
    return `${head(480, 80)}\n<text x="240" y="40" text-anchor="middle" dominant-baseline="central" font-size="14" fill="#666">No per-class metrics</text>\n</svg>`;
  }

  const barW = Math.min(36, Math.max(4, Math.floor(640 / (nc * nm + nc * 0.6))));
  const groupW = Math.max(nm * barW + Math.max(8, barW * 0.6), 420 / nc);
  const plotW = nc * groupW;
  const plotH = 220;
  // ~0.6em per character at 12px, as in the confusion matrix.
  const labelW = Math.max(...classes.map((c) => c.length)) * 12 * 0.6;
  const rotate = labelW > groupW - 6;

  // Legend: swatch and label per method, wrapped into rows.
  const legendParts: string[] = [];
  const left = 56;
  const maxLegendW = Math.max(plotW, 640);
  let lx = 0;
  let ly = 0;
  methods.forEach((m, i) => {
    const w = 18 + m.label.length * 12 * 0.6 + 22;
    if (lx > 0 && lx + w > maxLegendW) [lx, ly] = [0, ly + 20];
    const x = left + lx;
    const y = 14 + ly;
    legendParts.push(
      `<path d="M${r(x)} ${r(y - 6)}h12v12h-12z" fill="${METHOD_COLORS[i % METHOD_COLORS.length]}"/>`,
      `<text x="${r(x + 18)}" y="${r(y)}" dominant-baseline="central" font-size="12">${esc(m.label)}</text>`,
    );
    lx += w;
  });
  const top = 14 + ly + 24;
  const bottom = (rotate ? labelW * Math.SQRT1_2 + 14 : 22) + 10;
  const width = left + Math.max(plotW, lx) + 16;
  const height = top + plotH + bottom;
  const sy = (v: number) => top + plotH - Math.min(1, Math.max(0, v)) * plotH;

  const out: string[] = [head(width, height), ...legendParts];
  for (let k = 0; k <= 5; k++) {
    const v = k / 5;
    out.push(
      `<line x1="${left}" y1="${r(sy(v))}" x2="${r(left + plotW)}" y2="${r(sy(v))}" stroke="${k ? '#e4e7eb' : '#444'}" stroke-width="1"/>`,
      `<text x="${left - 6}" y="${r(sy(v))}" text-anchor="end" dominant-baseline="central" font-size="11" fill="#444">${v.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${r(top + plotH)}" stroke="#444" stroke-width="1"/>`,
    `<text x="14" y="${r(top + plotH / 2)}" text-anchor="middle" dominant-baseline="central" font-size="12" transform="rotate(-90 14 ${r(top + plotH / 2)})">F1</text>`,
  );
  classes.forEach((cls, ci) => {
    const gx = left + ci * groupW;
    const x0 = gx + (groupW - nm * barW) / 2;
    methods.forEach((m, mi) => {
      const c = m.perClass.find((p) => p.className === cls);
      if (!c) return;
      const f1 = isNum(c.f1) ? c.f1 : 0;
      const x = x0 + mi * barW;
      const y = sy(f1);
      const tip = `${m.label}, ${cls}: F1 ${fixed(c.f1, 3)}, precision ${fixed(c.precision, 3)}, recall ${fixed(c.recall, 3)}`;
      out.push(
        `<rect class="bar" x="${r(x + 1)}" y="${r(y)}" width="${r(barW - 2)}" height="${r(top + plotH - y)}" fill="${METHOD_COLORS[mi % METHOD_COLORS.length]}"><title>${esc(tip)}</title></rect>`,
      );
      if (barW >= 24) {
        out.push(`<text x="${r(x + barW / 2)}" y="${r(y - 5)}" text-anchor="middle" font-size="10" fill="#333">${fixed(c.f1, 2)}</text>`);
      }
    });
    const cx = gx + groupW / 2;
    const ty = top + plotH + 8;
    out.push(
      rotate
        ? `<text x="${r(cx)}" y="${r(ty)}" text-anchor="end" dominant-baseline="central" font-size="12" transform="rotate(-45 ${r(cx)} ${r(ty)})">${esc(cls)}</text>`
        : `<text x="${r(cx)}" y="${r(ty + 8)}" text-anchor="middle" font-size="12">${esc(cls)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

// ---------- pieces shared by HTML and Markdown ----------

function unfreezeText(u: StageSpec['unfreeze']): string {
  if (u === 'head') return 'head only';
  if (u === 'all') return 'all layers';
  if ('topLayers' in u) return `top ${u.topLayers} layers`;
  return `blocks ${u.blocks.join(', ')}`;
}

function stageTitle(s: StageRecord, i: number): string {
  return `Stage ${i + 1}: ${s.stage.name}`;
}

/** Unfreeze, trainable layers, learning rate, epochs run; "stopped early" is separate for highlighting. */
function stageFacts(s: StageRecord): string[] {
  return [
    `unfreeze ${unfreezeText(s.stage.unfreeze)}`,
    `${int(s.trainableLayers)} trainable layers`,
    `learning rate ${lr(s.stage.learningRate)}`,
    `${s.history.length} of ${int(s.stage.epochs)} epochs`,
    ...(s.start ? [`started at ${(s.start.valAccuracy * 100).toFixed(1)}% held-back accuracy (epoch 0)`] : []),
    ...(s.keptEpoch === undefined ? [] : [s.keptEpoch === 0 ? 'kept epoch 0: no epoch beat the start' : `kept epoch ${s.keptEpoch}`]),
  ];
}

function methodSummary(m: MethodReport): string {
  const parts: string[] = [];
  if (m.stages?.length) parts.push(`${m.stages.length} stage${m.stages.length === 1 ? '' : 's'} (${m.stages.map((s) => s.stage.name).join(', ')})`);
  if (m.stagePlan) parts.push(`plan: ${m.stagePlan}`);
  if (isNum(m.chosenL2)) parts.push(`L2 ${lr(m.chosenL2)}`);
  return parts.join(' · ') || '–';
}

/** Class names for a method's confusion matrix: its own per-class list when that fits, else the dataset's. */
function methodClassNames(rep: TransferReport, m: MethodReport): string[] {
  const own = m.heldOut.perClass.map((c) => c.className);
  return own.length === m.heldOut.confusion.length ? own : rep.dataset.classNames;
}

function compareTable(rep: TransferReport): Table {
  const ms = rep.methods;
  const hasLoss = ms.some((m) => isNum(m.heldOut.loss));
  const row = (k: string, f: (m: MethodReport) => string) => [k, ...ms.map(f)];
  const rows = [
    row('Held-out accuracy', (m) => `${pct(m.heldOut.accuracy)} (${m.heldOut.split})`),
    ...(ms.some((m) => m.heldOutTta) ? [row('Held-out accuracy with TTA', (m) => (m.heldOutTta ? `${pct(m.heldOutTta.accuracy)} (${m.heldOutTta.views} views)` : '–'))] : []),
    row('Macro F1', (m) => fixed(m.heldOut.macroF1, 3)),
    ...(hasLoss ? [row('Held-out loss', (m) => fixed(m.heldOut.loss, 4))] : []),
    row('Held-out images', (m) => int(m.heldOut.count)),
    row('Selection accuracy', (m) => pct(m.selectionAccuracy)),
    row('Training time', (m) => duration(m.trainSeconds)),
    row('Images/s', (m) => int(m.imagesPerSecond)),
    row('Stages / chosen L2', methodSummary),
    row('Model', (m) => m.modelKey),
  ];
  return {
    head: ['', ...ms.map((m) => `${methodLabel(m)}${m.method === rep.chosen.method ? ' ✓ chosen' : ''}`)],
    rows,
    numeric: ms.map((_, i) => i + 1),
  };
}

function l2Table(m: MethodReport): Table {
  const grid = m.l2Grid ?? [];
  if (grid.some((g) => g.foldAccuracies?.length)) {
    return {
      head: ['L2', 'Mean fold accuracy', '± spread', 'Mean fold loss', 'Fold accuracies', 'Chosen'],
      rows: grid.map((g) => [lr(g.l2), pct(g.valAccuracy), pct(g.spread ?? NaN), fixed(g.valLoss, 4), (g.foldAccuracies ?? []).map((a) => pct(a, 1)).join(' '), g.l2 === m.chosenL2 ? '✓' : '']),
      numeric: [0, 1, 2, 3],
    };
  }
  return {
    head: ['L2', 'Selection accuracy', 'Selection loss', 'Chosen'],
    rows: grid.map((g) => [lr(g.l2), pct(g.valAccuracy), fixed(g.valLoss, 4), g.l2 === m.chosenL2 ? '✓' : '']),
    numeric: [0, 1, 2],
  };
}

/** How the L2 strengths were scored, for the note under the grid. */
const l2Scoring = (m: MethodReport): string => m.l2Selection ?? 'the selection split (held back from training)';

const galleryItems = (m: MethodReport): MisclassifiedImage[] =>
  m.misclassified.map((x) => ({ name: x.path, trueClass: x.trueClass, predictedClass: x.predictedClass, probability: x.probability }));

function countsTable(rep: TransferReport): Table {
  const d = rep.dataset;
  const rows = Object.entries(d.counts).map(([split, n]) => [split === d.heldOutSplit ? `${split} (held out)` : split, int(n)]);
  const total = Object.values(d.counts).reduce((a, b) => a + (isNum(b) ? b : 0), 0);
  return { head: ['Split', 'Images'], rows: [...rows, ['Total', int(total)]], numeric: [1] };
}

function datasetFacts(rep: TransferReport): Table {
  const d = rep.dataset;
  return {
    head: ['', ''],
    rows: [
      ['Manifest', d.manifestKey],
      ['Held-out split', d.heldOutSplit],
      ['Classes', String(d.classNames.length)],
      ['Rejected files', int(d.rejected.length)],
      ['Duplicate groups', int(d.duplicates.length)],
      ['Cross-split groups', int(d.crossSplit.length)],
    ],
  };
}

/** At most LIST_LIMIT rows; `more` counts the rest. */
function capped<T>(xs: T[]): { shown: T[]; more: number } {
  return { shown: xs.slice(0, LIST_LIMIT), more: Math.max(0, xs.length - LIST_LIMIT) };
}

function rejectedTable(rep: TransferReport): { table: Table; more: number } {
  const { shown, more } = capped(rep.dataset.rejected);
  return { table: { head: ['Path', 'Reason'], rows: shown.map((x) => [x.path, x.reason]) }, more };
}

/** One row per path; the hash only on the first row of its group. */
function groupsTable(groups: { sha256: string; paths: string[] }[]): { table: Table; more: number } {
  const { shown, more } = capped(groups);
  return { table: { head: ['SHA-256', 'Paths'], rows: shown.flatMap((g) => g.paths.map((p, i) => [i === 0 ? shortSha(g.sha256) : '', p])) }, more };
}

function backboneTable(rep: TransferReport): Table {
  const b = rep.backbone;
  const size = b.inputSize ? `${b.inputSize[0]}×${b.inputSize[1]}×${b.channels}` : '–';
  return {
    head: ['', ''],
    rows: [
      ['Source', b.source],
      ['SHA-256', b.sha256],
      ['Cut layer', b.cutLayer],
      ['Input size', size],
      ['Scaling', b.scaling],
      ['Feature dim', int(b.featureDim)],
    ],
  };
}

function barsFor(rep: TransferReport): string {
  return perClassBarsSvg(rep.methods.map((m) => ({ label: methodLabel(m), perClass: m.heldOut.perClass })));
}

function chosenOf(rep: TransferReport): { label: string; heldOut?: MethodReport['heldOut'] } {
  const m = rep.methods.find((x) => x.method === rep.chosen.method);
  return { label: m ? methodLabel(m) : METHOD_NAMES[rep.chosen.method] ?? rep.chosen.method, heldOut: m?.heldOut };
}

// ---------- HTML ----------

const TRANSFER_CSS = `
.headline{display:flex;gap:24px;align-items:center;flex-wrap:wrap;background:#fff;border:1px solid #dde1e6;border-left:5px solid #0b5394;border-radius:8px;padding:14px 18px}
.headline .acc{font-size:36px;font-weight:650;color:#0b5394;line-height:1.1;white-space:nowrap}
.headline .acc small{display:block;font-size:12px;font-weight:400;color:#5b6570;text-transform:uppercase;letter-spacing:.04em}
.headline .what{flex:1 1 320px}
.headline .m{font-size:18px;font-weight:600}
.headline .reason{margin:4px 0 0;color:#3b444d}
.badge{display:inline-block;margin-left:8px;padding:1px 8px;border-radius:10px;background:#0b5394;color:#fff;font-size:11px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;vertical-align:middle}
h2 .badge{font-size:11px}
.compare th:not(:first-child),.compare td:not(:first-child){text-align:right}
.compare td:first-child{color:#5b6570;white-space:nowrap;width:1%}
.compare td{overflow-wrap:anywhere}
.figure h3{font-size:13px;margin:2px 0 6px;color:#3b444d;text-transform:uppercase;letter-spacing:.04em}
h3.sub{font-size:14px;margin:20px 0 8px}
h3.sub .facts{font-weight:400;color:#5b6570}
.stopped{color:#b3261e;font-weight:600}
.chips{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:6px}
.chips li{background:#eef3f9;border:1px solid #d3e0ee;border-radius:12px;padding:1px 10px}
.box td{overflow-wrap:anywhere}
.narrow{max-width:620px}
.stack{display:flex;flex-direction:column;gap:16px;margin-top:16px}
`;

const box = (title: string, inner: string) => `<div class="box"><h3>${esc(title)}</h3>${inner}</div>`;
const noneP = '<p class="none">none</p>';
const moreNote = (n: number) => (n > 0 ? `<p class="note">… and ${int(n)} more, listed in report.json.</p>` : '');

function confusionHtml(rep: TransferReport, m: MethodReport): string {
  try {
    return inlineSvg(confusionMatrixSvg(m.heldOut.confusion, methodClassNames(rep, m)));
  } catch {
    return '<p class="none">confusion matrix unavailable: its size does not match the class list</p>';
  }
}

function methodHtml(rep: TransferReport, m: MethodReport, images?: Record<string, string>): string {
  const chosen = m.method === rep.chosen.method;
  const out: string[] = [
    `<h2 id="method-${esc(m.method)}">${esc(methodLabel(m))}${chosen ? '<span class="badge">chosen</span>' : ''}</h2>`,
    `<div class="split">`,
    `<div class="figure"><h3>Confusion matrix · ${esc(m.heldOut.split)}</h3>${confusionHtml(rep, m)}</div>`,
    box(`Per-class metrics · ${m.heldOut.split}`, htmlTable(perClassTable(m.heldOut), { totalRow: true })),
    `</div>`,
  ];
  if (m.l2Grid?.length) {
    out.push(
      `<h3 class="sub">L2 grid for the logistic-regression head <span class="facts">· chosen L2 ${esc(lr(m.chosenL2 ?? NaN))}</span></h3>`,
      `<div class="box narrow">${htmlTable(l2Table(m))}</div>`,
      `<p class="note">Each L2 strength is scored by ${esc(l2Scoring(m))}; the best is refitted.</p>`,
    );
  }
  (m.stages ?? []).forEach((s, i) => {
    const facts = stageFacts(s).map(esc).join(' · ') + (s.stoppedEarly ? ' · <span class="stopped">stopped early</span>' : '');
    out.push(
      `<h3 class="sub">${esc(stageTitle(s, i))} <span class="facts">· ${facts}</span></h3>`,
      `<div class="figure">${inlineSvg(learningCurvesSvg(s.history))}</div>`,
      s.history.length ? `<div class="box" style="margin-top:8px">${htmlTable(historyTable(s.history))}</div>` : '',
    );
  });
  out.push(`<h3 class="sub">Misclassified ${esc(m.heldOut.split)} images <span class="facts">· ${m.misclassified.length} shown</span></h3>`, (m.misclassified.length ? misclassifiedGridHtml(galleryItems(m), images) : noneP));
  return out.filter(Boolean).join('\n');
}

function listHtml(title: string, t: { table: Table; more: number }): string {
  return box(title, t.table.rows.length ? htmlTable(t.table, { breakAfterSlash: true }) + moreNote(t.more) : noneP);
}

export function renderTransferHtml(report: TransferReport, images?: Record<string, string>): string {
  const d = report.dataset;
  const ch = chosenOf(report);
  const acc = ch.heldOut ? pct(ch.heldOut.accuracy) : '–';
  const split = ch.heldOut?.split ?? d.heldOutSplit;
  const methodsHtml = report.methods.map((m) => methodHtml(report, m, images)).join('\n\n');
  const classes = d.classNames.length ? `<ul class="chips">${d.classNames.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : noneP;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)} – ${esc(ch.label)}, ${acc} held-out accuracy</title>
<style>${REPORT_CSS}${TRANSFER_CSS}</style>
</head>
<body>
<main>
<h1>${esc(report.title)}</h1>
<p class="meta">Run <code>${esc(report.runId)}</code> · transfer learning · ${esc(report.createdAt)}</p>
<div class="headline">
<div class="acc">${acc}<small>held-out accuracy · ${esc(split)}</small></div>
<div class="what"><div class="m">Chosen: ${esc(ch.label)}</div><p class="reason">${esc(report.chosen.reason)}</p></div>
</div>

<h2>Methods compared</h2>
${report.methods.length ? `<div class="box">${htmlTable(compareTable(report), { cls: 'compare' })}</div>` : noneP}
<p class="note">Held-out accuracy is measured on the ${esc(d.heldOutSplit)} split, which played no part in any choice; selection accuracy is on the part of the training split held back to choose L2 and to stop fine-tuning early.</p>

${methodsHtml}

<h2>Per-class metrics side by side</h2>
<div class="split">
${report.methods.map((m) => `<div class="figure"><h3>${esc(methodLabel(m))}</h3>${inlineSvg(classMetricBarsSvg(m.heldOut.perClass, `Precision, recall and F1 per class: ${methodLabel(m)}`))}</div>`).join('\n')}
</div>
<div class="figure" style="margin-top:16px"><h3>F1 by method</h3>${inlineSvg(barsFor(report))}</div>

${runDetailsHtml(report.cache, report.steps ?? wallOnly(report.timings))}

<h2>Dataset</h2>
<div class="grid">
${htmlKvBox('Dataset', datasetFacts(report))}
${box('Images per split', htmlTable(countsTable(report), { totalRow: true }))}
</div>
<div class="box" style="margin-top:16px"><h3>Classes</h3>${classes}</div>
<div class="stack">
${listHtml('Rejected files', rejectedTable(report))}
${listHtml('Duplicates', groupsTable(d.duplicates))}
${listHtml('Cross-split files', groupsTable(d.crossSplit))}
</div>

<h2>Backbone</h2>
${htmlKvBox('Backbone', backboneTable(report))}

<h2>Run details</h2>
<div class="grid">
${htmlKvBox('Configuration', kvTable(report.config))}
${htmlKvBox('Environment', kvTable(report.environment))}
</div>
</main>
</body>
</html>
`;
}

// ---------- Markdown ----------

const mdList = (t: { table: Table; more: number }): string =>
  t.table.rows.length ? mdTable(t.table) + (t.more > 0 ? `\n\n… and ${int(t.more)} more, listed in report.json.` : '') : 'None.';
const kvMd = (tbl: Table): string => mdTable({ ...tbl, head: ['Key', 'Value'] });

function confusionMd(rep: TransferReport, m: MethodReport): string {
  const names = methodClassNames(rep, m);
  const conf = m.heldOut.confusion;
  if (conf.length !== names.length) return 'Confusion matrix unavailable: its size does not match the class list.';
  return mdTable({
    head: ['True ↓ / predicted →', ...names],
    rows: conf.map((row, i) => [names[i], ...row.map(String)]),
    numeric: names.map((_, i) => i + 1),
  });
}

function perClassF1Md(rep: TransferReport): Table {
  const classes: string[] = [];
  for (const m of rep.methods) for (const c of m.heldOut.perClass) if (!classes.includes(c.className)) classes.push(c.className);
  const f1 = (h: ClassificationMetrics, cls: string) => fixed(h.perClass.find((c) => c.className === cls)?.f1, 3);
  return {
    head: ['Class', ...rep.methods.map(methodLabel)],
    rows: classes.map((cls) => [cls, ...rep.methods.map((m) => f1(m.heldOut, cls))]),
    numeric: rep.methods.map((_, i) => i + 1),
  };
}

function methodMd(rep: TransferReport, m: MethodReport): string[] {
  const out = [
    `## ${mdEsc(methodLabel(m))}${m.method === rep.chosen.method ? ' (chosen)' : ''}`,
    `### Per-class metrics (${mdEsc(m.heldOut.split)})`,
    mdTable(perClassTable(m.heldOut)),
    `### Confusion matrix (${mdEsc(m.heldOut.split)})`,
    'Rows are true classes, columns predicted classes.',
    confusionMd(rep, m),
  ];
  if (m.l2Grid?.length) {
    out.push('### L2 grid for the logistic-regression head', `Chosen L2: ${lr(m.chosenL2 ?? NaN)}, scored by ${mdEsc(l2Scoring(m))}.`, mdTable(l2Table(m)));
  }
  if (m.stages?.length) {
    out.push('### Fine-tuning stages');
    m.stages.forEach((s, i) => {
      out.push(`#### ${mdEsc(stageTitle(s, i))}`, mdEsc([...stageFacts(s), ...(s.stoppedEarly ? ['stopped early'] : [])].join(' · ')), s.history.length ? mdTable(historyTable(s.history)) : 'No epochs recorded.');
    });
  }
  out.push(`### Misclassified ${mdEsc(m.heldOut.split)} images`, m.misclassified.length ? mdTable(galleryTable(galleryItems(m))) : 'None.');
  return out;
}

export function renderTransferMarkdown(report: TransferReport): string {
  const d = report.dataset;
  const ch = chosenOf(report);
  const headline = `**Chosen: ${mdEsc(ch.label)} — ${ch.heldOut ? pct(ch.heldOut.accuracy) : '–'} held-out accuracy (${mdEsc(ch.heldOut?.split ?? d.heldOutSplit)})**`;
  const out = [
    `# ${mdEsc(report.title)}`,
    headline,
    mdEsc(report.chosen.reason),
    `Run ${mdEsc(report.runId)} · transfer learning · ${mdEsc(report.createdAt)}`,
    '## Methods compared',
    report.methods.length ? mdTable(compareTable(report)) : 'None.',
    ...report.methods.flatMap((m) => methodMd(report, m)),
    '## Per-class F1 by method',
    report.methods.length ? mdTable(perClassF1Md(report)) : 'None.',
    '## Dataset',
    kvMd(datasetFacts(report)),
    '### Images per split',
    mdTable(countsTable(report)),
    '### Classes',
    d.classNames.length ? mdTable({ head: ['#', 'Class'], rows: d.classNames.map((c, i) => [String(i), c]), numeric: [0] }) : 'None.',
    '### Rejected files',
    mdList(rejectedTable(report)),
    '### Duplicates',
    mdList(groupsTable(d.duplicates)),
    '### Cross-split files',
    mdList(groupsTable(d.crossSplit)),
    '## Backbone',
    kvMd(backboneTable(report)),
    '## Configuration',
    kvMd(kvTable(report.config)),
    '## Environment',
    kvMd(kvTable(report.environment)),
    ...runDetailsMarkdown(report.cache, report.steps ?? wallOnly(report.timings)),
  ];
  return out.join('\n\n') + '\n';
}
