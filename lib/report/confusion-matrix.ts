// The confusion matrix as a standalone SVG heat map.
import { escapeHtml as esc, pct } from './format';
import { r, svgOpen } from './svg';

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
    svgOpen(width, height, 'Confusion matrix, rows true class, columns predicted class'),
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
