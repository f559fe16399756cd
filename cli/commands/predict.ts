// `tl predict <images...>`: classify image files with a transfer run's model.
import type { Command } from 'commander';
import { EXIT } from '../errors';
import { config, json, out, wantsJson } from '../context';
import { predict } from '../predict';

export function registerPredict(program: Command): void {
  program
    .command('predict <images...>')
    .description('classify image files with the model a transfer run chose')
    .requiredOption('--model <run-id|s3://bucket/prefix>', 'a run id, or the S3 folder of a saved model')
    .option('--tta', 'average over test-time augmentations (flip, centre and corner crops)')
    .action(async (images: string[], opts: { model: string; tta?: boolean }, cmd: Command) => {
      const results = await predict(config(), opts.model, images, { tta: opts.tta });
      if (wantsJson(cmd)) json(results);
      else for (const r of results) out(r.error ? `${r.file}\terror: ${r.error}` : `${r.file}\t${r.className}\t${r.probability!.toFixed(4)}`);
      if (results.some((r) => r.error)) process.exitCode = EXIT.failure;
    });
}
