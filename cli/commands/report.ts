// `tl report <id>`: a run's report, printed, saved or opened.
import type { Command } from 'commander';
import { config, json, out, wantsJson } from '../context';
import { fetchReport, type ReportFlags } from '../report';

export function registerReport(program: Command): void {
  program
    .command('report <id>')
    .description("print a run's report (Markdown), save it with --out (HTML, or Markdown for *.md), or --open the HTML page (--json: the report's data, its S3 keys and the file written)")
    .option('--out <file>', 'write the report to this file (.html or .md)')
    .option('--open', 'save the HTML page (to --out, else a temporary file) and open it with xdg-open')
    .action(async (id: string, opts: ReportFlags, cmd: Command) => {
      const { result, text } = await fetchReport(config(), id, opts);
      if (wantsJson(cmd)) json(result);
      else out(text);
    });
}
