// The one SVG toolkit of the report pages: namespace, font, coordinate rounding, the <svg> header,
// and the empty-chart placeholder. Charts are standalone SVG strings; pages inline them.
import { escapeHtml } from './format';

export const SVG_NS = 'http://www.w3.org/2000/svg';
export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

/** Round numbers for SVG coordinates, keeping output short. */
export const r = (x: number): string => String(Math.round(x * 10) / 10);

/** Width estimate for sans-serif text: no layout engine here, ~0.6em per character is close. */
export const textWidth = (s: string, size = 12): number => s.length * size * 0.6;

/** The opening tag of a standalone chart: size, viewBox, font and an accessible label. */
export function svgOpen(width: number, height: number, label: string): string {
  return `<svg xmlns="${SVG_NS}" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" font-family="${FONT}" role="img" aria-label="${escapeHtml(label)}">`;
}

/** A chart with nothing to draw: a short grey line of text in place of the figure. */
export function emptySvg(label: string, text: string, width = 480, height = 60): string {
  return `${svgOpen(width, height, label)}\n<text x="${r(width / 2)}" y="${r(height / 2)}" text-anchor="middle" dominant-baseline="central" font-size="14" fill="#666">${escapeHtml(text)}</text>\n</svg>`;
}

/** Inline SVG in HTML needs no namespace declaration; dropping it keeps the page free of any URL. */
export const inlineSvg = (svg: string): string => svg.replace(` xmlns="${SVG_NS}"`, '');
