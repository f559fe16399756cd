// The transfer report as Markdown: the same sections as the HTML page, as tables and lists.
import type { ClassificationMetrics } from '../metrics';
import { fixed, int, mdEsc, pct } from './format';
import { kvTable, mdTable, type Table } from './table';
import { historyTable, perClassTable, runDetailsMarkdown, wallOnly } from './page';
import { misclassifiedTable as galleryTable } from './gallery';
import type { MethodReport, TransferReport } from './transfer';
import { backboneTable, chosenOf, compareTable, countsTable, datasetFacts, galleryItems, groupsTable, l2Scoring, l2Table, lr, methodClassNames, methodLabel, rejectedTable, stageFacts, stageTitle } from './transfer-sections';

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
