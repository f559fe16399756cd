// Horizontal bar charts as standalone SVG strings: precision, recall and F1 per class, and seconds
// per pipeline step. Pure functions of their data; no fonts, scripts or URLs are referenced.
import { escapeHtml as esc, fixed, isNum } from './format';
import { emptySvg, r, svgOpen, textWidth } from './svg';

export const METRIC_COLORS = { precision: '#1f6fb4', recall: '#e8710a', f1: '#2e9e44' } as const;

export interface ClassScores {
  className: string;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Per class a group of three horizontal bars (precision, recall, F1) on a shared 0–1 axis.
 * One `<rect class="bar">` per bar and nowhere else, so the bars can be counted.
 */
export function classMetricBarsSvg(perClass: ClassScores[], title = 'Precision, recall and F1 per class'): string {
  if (!perClass.length) return emptySvg(title, 'No per-class metrics');
  const metrics = ['precision', 'recall', 'f1'] as const;
  const barH = 9;
  const groupH = metrics.length * barH + 10;
  const labelW = Math.max(...perClass.map((c) => textWidth(c.className)), 40);
  const left = labelW + 14;
  const plotW = 300;
  const valueW = 44; // room for the value printed after the longest bar
  const top = 30;
  const plotH = perClass.length * groupH;
  const width = left + plotW + valueW;
  const height = top + plotH + 26;
  const sx = (v: number) => left + Math.min(1, Math.max(0, v)) * plotW;

  const out: string[] = [svgOpen(width, height, title)];
  // Legend across the top.
  let lx = left;
  for (const m of metrics) {
    const name = m === 'f1' ? 'F1' : m;
    out.push(
      `<path d="M${r(lx)} 8h12v12h-12z" fill="${METRIC_COLORS[m]}"/>`,
      `<text x="${r(lx + 17)}" y="14" dominant-baseline="central" font-size="12">${name}</text>`,
    );
    lx += 17 + textWidth(name) + 18;
  }
  for (let k = 0; k <= 4; k++) {
    const x = sx(k / 4);
    out.push(
      `<line x1="${r(x)}" y1="${top}" x2="${r(x)}" y2="${r(top + plotH)}" stroke="${k ? '#e4e7eb' : '#444'}" stroke-width="1"/>`,
      `<text x="${r(x)}" y="${r(top + plotH + 14)}" text-anchor="middle" font-size="11" fill="#444">${(k / 4).toFixed(2)}</text>`,
    );
  }
  perClass.forEach((c, ci) => {
    const gy = top + ci * groupH + 5;
    out.push(`<text x="${r(left - 8)}" y="${r(gy + (metrics.length * barH) / 2)}" text-anchor="end" dominant-baseline="central" font-size="12">${esc(c.className)}</text>`);
    metrics.forEach((m, mi) => {
      const v = isNum(c[m]) ? c[m] : 0;
      const y = gy + mi * barH;
      const tip = `${c.className}: ${m === 'f1' ? 'F1' : m} ${fixed(c[m], 3)}`;
      out.push(
        `<rect class="bar" x="${r(left)}" y="${r(y)}" width="${r(sx(v) - left)}" height="${barH - 1}" fill="${METRIC_COLORS[m]}"><title>${esc(tip)}</title></rect>`,
        `<text x="${r(sx(v) + 4)}" y="${r(y + barH / 2)}" dominant-baseline="central" font-size="9" fill="#333">${fixed(c[m], 2)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

export interface StepTiming {
  step: string;
  /** Seconds the step's activities ran, measured on the workers (summed over parallel activities). */
  seconds?: number;
  /** How many activities the step ran. */
  activities?: number;
  /** Seconds from the step's start to its end as the workflow saw them (queueing and retries included). */
  wallSeconds?: number;
  /** The TensorFlow.js backend its activities ran on, and why faster ones were passed over. */
  backend?: string;
  /** Worker seconds by phase (e.g. S3 read, compute, S3 write), summed over the step's activities. */
  breakdown?: Record<string, number>;
}

/** One horizontal bar per step: worker seconds, with the workflow's wall time as a thin line behind it. */
export function stepTimingsSvg(steps: StepTiming[]): string {
  const title = 'Seconds per step';
  const shown = steps.filter((s) => isNum(s.seconds) || isNum(s.wallSeconds));
  if (!shown.length) return emptySvg(title, 'No timings recorded');
  const max = Math.max(...shown.flatMap((s) => [s.seconds ?? 0, s.wallSeconds ?? 0]), 1e-9);
  const rowH = 22;
  const labelW = Math.max(...shown.map((s) => textWidth(s.step)), 40);
  const left = labelW + 14;
  const plotW = 420;
  const top = 26;
  // Room after the longest bar for its label, e.g. "123.4 s (wall 130.2 s)".
  const width = left + plotW + 170;
  const height = top + shown.length * rowH + 8;
  const sx = (v: number) => left + (Math.max(0, v) / max) * plotW;
  const out: string[] = [
    svgOpen(width, height, title),
    `<path d="M${r(left)} 6h12v12h-12z" fill="${METRIC_COLORS.precision}"/>`,
    `<text x="${r(left + 17)}" y="12" dominant-baseline="central" font-size="12">worker seconds</text>`,
    `<path d="M${r(left + 140)} 11h16v3h-16z" fill="#9aa5b1"/>`,
    `<text x="${r(left + 161)}" y="12" dominant-baseline="central" font-size="12">workflow wall time</text>`,
  ];
  shown.forEach((s, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${r(left - 8)}" y="${r(y + rowH / 2 - 2)}" text-anchor="end" dominant-baseline="central" font-size="12">${esc(s.step)}</text>`);
    if (isNum(s.wallSeconds)) {
      out.push(`<path d="M${r(left)} ${r(y + 14)}h${r(sx(s.wallSeconds) - left)}v3h${r(left - sx(s.wallSeconds))}z" fill="#9aa5b1"/>`);
    }
    const v = isNum(s.seconds) ? s.seconds : undefined;
    if (v !== undefined) {
      out.push(`<rect class="bar" x="${r(left)}" y="${r(y + 2)}" width="${r(Math.max(1, sx(v) - left))}" height="11" fill="${METRIC_COLORS.precision}"><title>${esc(`${s.step}: ${v.toFixed(2)} s`)}</title></rect>`);
    }
    const secs = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} s`;
    const wall = isNum(s.wallSeconds) ? s.wallSeconds : undefined;
    const label = v === undefined ? `${secs(wall ?? 0)} wall` : wall === undefined ? secs(v) : `${secs(v)} (wall ${secs(wall)})`;
    out.push(`<text x="${r(sx(Math.max(v ?? 0, s.wallSeconds ?? 0)) + 6)}" y="${r(y + rowH / 2 - 2)}" dominant-baseline="central" font-size="11" fill="#333">${label}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
