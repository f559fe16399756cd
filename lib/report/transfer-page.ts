// The transfer-learning report: both methods side by side and the one chosen, rendered as a
// self-contained HTML page (inline CSS and SVG, thumbnails only as data: URLs, no scripts). Its
// sections are shared with the Markdown file (transfer-sections.ts), its page pieces with the lab CNN's.
import { escapeHtml as esc, int, pct } from './format';
import { htmlTable, kvTable, type Table } from './table';
import { confusionMatrixSvg } from './confusion-matrix';
import { learningCurvesSvg } from './learning-curves';
import { REPORT_CSS, historyTable, htmlKvBox, perClassTable, runDetailsHtml, wallOnly } from './page';
import { inlineSvg } from './svg';
import { classMetricBarsSvg } from './charts';
import { misclassifiedGridHtml } from './gallery';
import type { MethodReport, TransferReport } from './transfer';
import { backboneTable, barsFor, chosenOf, compareTable, countsTable, datasetFacts, galleryItems, groupsTable, l2Scoring, l2Table, lr, methodClassNames, methodLabel, rejectedTable, stageFacts, stageTitle } from './transfer-sections';

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
