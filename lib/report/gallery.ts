// The grid of misclassified images: a thumbnail per image (an inline data: URL made by the
// activity, never a link), its true and its predicted class.
import { escapeHtml as esc, pct } from './format';
import type { Table } from './table';

export interface MisclassifiedImage {
  /** What identifies the image to a person: its source path, or "test #123". */
  name: string;
  trueClass: string;
  predictedClass: string;
  /** Probability the model gave its (wrong) prediction. */
  probability: number;
}

/** Thumbnails allowed in <img src>: inline raster images only, strict base64 so nothing can break out. */
export const DATA_URL = /^data:image\/(?:jpeg|png|webp);base64,[A-Za-z0-9+/]*={0,2}$/;

export const GALLERY_CSS = `
.mis-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:10px}
.mis{margin:0;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px;font-size:12px;min-width:0}
.mis img,.mis .ph{display:block;width:100%;aspect-ratio:1/1;object-fit:contain;border-radius:4px;background:#eef0f2;image-rendering:pixelated}
.mis .ph{display:flex;align-items:center;justify-content:center;border:1px dashed #c5ccd3;color:#8a949e;font-size:11px}
.mis .path{margin:6px 0 2px;color:#5b6570;overflow-wrap:anywhere}
.mis .pred{color:#b3261e;font-weight:600}
`;

function thumbnail(name: string, images?: Record<string, string>): string {
  const url = images && Object.prototype.hasOwnProperty.call(images, name) ? images[name] : undefined;
  if (typeof url === 'string' && DATA_URL.test(url)) return `<img src="${esc(url)}" alt="${esc(name)}">`;
  return '<div class="ph">no preview</div>';
}

/** One card per image; `images` maps an image's name to its data: URL (missing or unsafe: a placeholder). */
export function misclassifiedGridHtml(items: MisclassifiedImage[], images?: Record<string, string>): string {
  if (!items.length) return '<p class="none">none</p>';
  const cards = items.map(
    (x) =>
      `<figure class="mis">${thumbnail(x.name, images)}<figcaption>` +
      `<div class="path">${esc(x.name).replace(/\//g, '/<wbr>')}</div>` +
      `<div>true: <strong class="true">${esc(x.trueClass)}</strong></div>` +
      `<div>predicted: <span class="pred">${esc(x.predictedClass)}</span> (${pct(x.probability, 1)})</div>` +
      `</figcaption></figure>`,
  );
  return `<div class="mis-grid">${cards.join('')}</div>`;
}

export function misclassifiedTable(items: MisclassifiedImage[]): Table {
  return {
    head: ['Image', 'True', 'Predicted', 'Probability'],
    rows: items.map((x) => [x.name, x.trueClass, x.predictedClass, pct(x.probability, 1)]),
    numeric: [3],
  };
}
