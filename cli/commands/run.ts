// `tl run lab-cnn|transfer`: start a pipeline run; its flags come from the pipeline's schema.
import type { Command } from 'commander';
import { config, json, log, wantsJson } from '../context';
import { idFlag, waitFlag } from '../flags';
import { addPipelineFlags, pipelineStart } from '../pipelines';
import { runLabCnn, runTransfer, type StartFlags } from '../run';

export function registerRun(program: Command): void {
  const run = program.command('run').description('start a pipeline run');

  addPipelineFlags(run.command('lab-cnn').description('train and evaluate the course-lab CNN on Fashion-MNIST'), 'lab-cnn')
    .addOption(idFlag())
    .addOption(waitFlag('its test accuracy'))
    .action(async (opts: StartFlags, cmd: Command) => {
      const { spec } = pipelineStart(config, cmd, 'lab-cnn');
      const cfg = config();
      const result = await runLabCnn(cfg, spec, { ...opts, json: wantsJson(cmd) }, log(cmd));
      if (wantsJson(cmd)) json(typeof result === 'string' ? { runId: result } : result);
    });

  addPipelineFlags(run.command('transfer').description('turn a folder of photos and a pretrained backbone into the better of two classifiers'), 'transfer')
    .addOption(idFlag())
    .addOption(waitFlag("both methods' results"))
    .action(async (opts: StartFlags, cmd: Command) => {
      const { spec, backbone } = pipelineStart(config, cmd, 'transfer');
      const cfg = config();
      const result = await runTransfer(cfg, spec, backbone!, { ...opts, json: wantsJson(cmd) }, log(cmd));
      if (wantsJson(cmd)) json(typeof result === 'string' ? { runId: result } : result);
    });
}
