// `tl report <id>`: fetches a run's report from S3; prints the Markdown, saves HTML or Markdown,
// or opens the HTML page with the desktop's opener.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { Config } from '../lib/config';
import { NotFoundError, parseRecord, type ArtifactStore } from '../lib/store/store';
import { runKeys } from '../contracts';
import { connectStore } from './connect';
import { CliError, EXIT } from './errors';
import { validRunId } from './runs';
import { findOnPath } from './system';

export interface ReportFlags {
  out?: string;
  open?: boolean;
}

/** What `tl report --json` prints: where the report lives, where it was saved, and its data. */
export interface ReportResult {
  runId: string;
  keys: { json: string; html: string; markdown: string };
  /** Local file the report was written to (--out or --open). */
  file?: string;
  format?: 'html' | 'markdown';
  /** --open: the program that was asked to open it, or null when none was found. */
  opener?: string | null;
  /** The report's data (report.json). */
  report: unknown;
}

/** .html/.htm → the HTML page, .md → Markdown; anything else is a usage error. */
export function outputFormat(file: string): 'html' | 'markdown' {
  if (/\.html?$/i.test(file)) return 'html';
  if (/\.md$/i.test(file)) return 'markdown';
  throw new CliError(`--out ${JSON.stringify(file)}: expected a file name ending in .html or .md`, EXIT.usage);
}

async function get(store: ArtifactStore, id: string, key: string): Promise<Uint8Array> {
  try {
    return await store.getBytes(key);
  } catch (err) {
    if (err instanceof NotFoundError) throw new CliError(`run ${id} has no report yet (${store.s3Url(key)} does not exist)`);
    throw err;
  }
}

/**
 * Fetches the report. `text` is what a person sees without --json: the Markdown itself, or
 * what was written and opened.
 */
export async function fetchReport(config: Config, id: string, flags: ReportFlags): Promise<{ result: ReportResult; text: string }> {
  const format = flags.out ? outputFormat(flags.out) : undefined;
  if (flags.open && format === 'markdown') throw new CliError('--open shows the HTML page: give --out a .html file, or leave --out out', EXIT.usage);
  const runId = validRunId(id);
  const store = await connectStore(config);
  const keys = runKeys(runId);
  const result: ReportResult = {
    runId,
    keys: { json: keys.reportJson, html: keys.reportHtml, markdown: keys.reportMarkdown },
    // Passed through as stored; a report that is not JSON is an error naming its key.
    report: parseRecord(keys.reportJson, await get(store, runId, keys.reportJson), z.unknown()),
  };
  const lines: string[] = [];

  if (!flags.out && !flags.open) {
    return { result, text: Buffer.from(await get(store, runId, keys.reportMarkdown)).toString('utf8').trimEnd() };
  }
  const file = path.resolve(flags.out ?? path.join(os.tmpdir(), 'tl-reports', `${runId}.html`));
  const key = format === 'markdown' ? keys.reportMarkdown : keys.reportHtml;
  const bytes = await get(store, runId, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  Object.assign(result, { file, format: format ?? 'html' });
  lines.push(`wrote ${file} (${(bytes.length / 1024).toFixed(0)} KiB, from ${store.s3Url(key)})`);

  if (flags.open) {
    const opener = findOnPath('xdg-open') ?? null;
    result.opener = opener;
    if (opener) {
      // Detached: the browser outlives this command.
      spawn(opener, [file], { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
      lines.push(`opened with ${opener}`);
    } else {
      lines.push(`no opener found (xdg-open is not on PATH): open ${file} in a browser`);
    }
  }
  return { result, text: lines.join('\n') };
}
