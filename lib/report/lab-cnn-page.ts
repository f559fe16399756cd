// The lab-CNN run report rendered as a self-contained HTML page (inline CSS and SVG, nothing
// fetched, so it opens offline or straight from S3) and as Markdown.
import { escapeHtml, fixed, int, isNum, mdEsc, pct } from './format';
import { htmlTable, kvTable, mdTable, type Table } from './table';
import { classMetricBarsSvg } from './charts';
import { confusionMatrixSvg } from './confusion-matrix';
import { learningCurvesSvg } from './learning-curves';
import { misclassifiedGridHtml, misclassifiedTable } from './gallery';
import { inlineSvg } from './svg';
import { REPORT_CSS, historyTable, htmlCard, htmlKvBox, perClassTable, runDetailsHtml, runDetailsMarkdown, wallOnly } from './page';
import type { RunReport } from './lab-cnn';

const esc = escapeHtml;
const opt = (x: number | null) => (x === null ? '–' : String(x));

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
// ---------- HTML ----------

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
