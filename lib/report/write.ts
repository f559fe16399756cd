// Writes a run's report once, in all three forms: the JSON document, the HTML page and the
// Markdown file, under the run's report keys.
import type { ArtifactStore } from '../store/store';

export interface ReportKeys {
  json: string;
  html: string;
  markdown: string;
}

export interface ReportRenderers<R> {
  html: (report: R, images?: Record<string, string>) => string;
  markdown: (report: R) => string;
}

/** Stores the document and its two renderings; `images` are the HTML page's inline thumbnails. */
export async function writeReport<R>(store: ArtifactStore, keys: ReportKeys, report: R, render: ReportRenderers<R>, images?: Record<string, string>): Promise<ReportKeys> {
  await store.putJson(keys.json, report);
  await store.putBytes(keys.markdown, Buffer.from(render.markdown(report)), 'text/markdown; charset=utf-8');
  await store.putBytes(keys.html, Buffer.from(render.html(report, images)), 'text/html; charset=utf-8');
  return keys;
}

/** A run's report keys (contracts' runKeys) in the shape results carry. */
export const reportKeysOf = (keys: { reportJson: string; reportHtml: string; reportMarkdown: string }): ReportKeys => ({
  json: keys.reportJson,
  html: keys.reportHtml,
  markdown: keys.reportMarkdown,
});
