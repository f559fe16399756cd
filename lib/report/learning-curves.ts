// Learning curves as a standalone SVG: loss and accuracy per epoch, training against validation.
import type { EpochRecord } from '../../contracts';
import { escapeHtml as esc, isNum } from './format';
import { r, svgOpen } from './svg';

const TRAIN_COLOR = '#1f6fb4';
const VAL_COLOR = '#e8710a';

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
  const head = svgOpen(width, height, 'Learning curves: loss and accuracy per epoch');
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
