// The transfer report's pieces that both its HTML page and its Markdown file show: the method
// comparison, stages, L2 grid, dataset lists and backbone facts, and the per-class F1 chart.
import type { StageSpec, StageRecord } from '../../contracts';
import { duration, escapeHtml as esc, fixed, int, isNum, pct, value } from './format';
import { type Table } from './table';
import { r, svgOpen } from './svg';
import { type MisclassifiedImage } from './gallery';
import type { MethodReport, TransferReport } from './transfer';

export const METHOD_COLORS = ['#1f6fb4', '#e8710a', '#2e9e44', '#8e5cc4', '#c2417a', '#6b7785'];
export const METHOD_NAMES: Record<string, string> = {
  features: 'Feature extraction + logistic regression',
  finetune: 'Fine-tuning',
};
/** Longest list (rejected files, duplicates...) shown in full; the rest is counted. */
export const LIST_LIMIT = 200;

export const methodLabel = (m: MethodReport): string => m.label || METHOD_NAMES[m.method] || m.method;
export const shortSha = (sha: string): string => (sha.length > 16 ? `${sha.slice(0, 16)}…` : sha);
export const lr = (x: number): string => (!isNum(x) ? '–' : x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : value(x));

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

export function unfreezeText(u: StageSpec['unfreeze']): string {
  if (u === 'head') return 'head only';
  if (u === 'all') return 'all layers';
  if ('topLayers' in u) return `top ${u.topLayers} layers`;
  return `blocks ${u.blocks.join(', ')}`;
}

export function stageTitle(s: StageRecord, i: number): string {
  return `Stage ${i + 1}: ${s.stage.name}`;
}

/** Unfreeze, trainable layers, learning rate, epochs run; "stopped early" is separate for highlighting. */
export function stageFacts(s: StageRecord): string[] {
  return [
    `unfreeze ${unfreezeText(s.stage.unfreeze)}`,
    `${int(s.trainableLayers)} trainable layers`,
    `learning rate ${lr(s.stage.learningRate)}`,
    `${s.history.length} of ${int(s.stage.epochs)} epochs`,
    ...(s.start ? [`started at ${(s.start.valAccuracy * 100).toFixed(1)}% held-back accuracy (epoch 0)`] : []),
    ...(s.keptEpoch === undefined ? [] : [s.keptEpoch === 0 ? 'kept epoch 0: no epoch beat the start' : `kept epoch ${s.keptEpoch}`]),
  ];
}

export function methodSummary(m: MethodReport): string {
  const parts: string[] = [];
  if (m.stages?.length) parts.push(`${m.stages.length} stage${m.stages.length === 1 ? '' : 's'} (${m.stages.map((s) => s.stage.name).join(', ')})`);
  if (m.stagePlan) parts.push(`plan: ${m.stagePlan}`);
  if (isNum(m.chosenL2)) parts.push(`L2 ${lr(m.chosenL2)}`);
  return parts.join(' · ') || '–';
}

/** Class names for a method's confusion matrix: its own per-class list when that fits, else the dataset's. */
export function methodClassNames(rep: TransferReport, m: MethodReport): string[] {
  const own = m.heldOut.perClass.map((c) => c.className);
  return own.length === m.heldOut.confusion.length ? own : rep.dataset.classNames;
}

export function compareTable(rep: TransferReport): Table {
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

export function l2Table(m: MethodReport): Table {
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
export const l2Scoring = (m: MethodReport): string => m.l2Selection ?? 'the selection split (held back from training)';

export const galleryItems = (m: MethodReport): MisclassifiedImage[] =>
  m.misclassified.map((x) => ({ name: x.path, trueClass: x.trueClass, predictedClass: x.predictedClass, probability: x.probability }));

export function countsTable(rep: TransferReport): Table {
  const d = rep.dataset;
  const rows = Object.entries(d.counts).map(([split, n]) => [split === d.heldOutSplit ? `${split} (held out)` : split, int(n)]);
  const total = Object.values(d.counts).reduce((a, b) => a + (isNum(b) ? b : 0), 0);
  return { head: ['Split', 'Images'], rows: [...rows, ['Total', int(total)]], numeric: [1] };
}

export function datasetFacts(rep: TransferReport): Table {
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
export function capped<T>(xs: T[]): { shown: T[]; more: number } {
  return { shown: xs.slice(0, LIST_LIMIT), more: Math.max(0, xs.length - LIST_LIMIT) };
}

export function rejectedTable(rep: TransferReport): { table: Table; more: number } {
  const { shown, more } = capped(rep.dataset.rejected);
  return { table: { head: ['Path', 'Reason'], rows: shown.map((x) => [x.path, x.reason]) }, more };
}

/** One row per path; the hash only on the first row of its group. */
export function groupsTable(groups: { sha256: string; paths: string[] }[]): { table: Table; more: number } {
  const { shown, more } = capped(groups);
  return { table: { head: ['SHA-256', 'Paths'], rows: shown.flatMap((g) => g.paths.map((p, i) => [i === 0 ? shortSha(g.sha256) : '', p])) }, more };
}

export function backboneTable(rep: TransferReport): Table {
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

export function barsFor(rep: TransferReport): string {
  return perClassBarsSvg(rep.methods.map((m) => ({ label: methodLabel(m), perClass: m.heldOut.perClass })));
}

export function chosenOf(rep: TransferReport): { label: string; heldOut?: MethodReport['heldOut'] } {
  const m = rep.methods.find((x) => x.method === rep.chosen.method);
  return { label: m ? methodLabel(m) : METHOD_NAMES[rep.chosen.method] ?? rep.chosen.method, heldOut: m?.heldOut };
}
