// `tl models list|show|promote|rollback`: the model registry's champions and their history.
import type { Command } from 'commander';
import { config, emit } from '../context';
import { reasonFlag } from '../flags';
import { formatModelDetail, formatModelList, listModels, promoteRun, rollbackModel, showModel, type ModelDetail } from '../models';

export function registerModels(program: Command): void {
  const models = program.command('models').description('the model registry: champions and their history');
  const printModel = (cmd: Command, shown: ModelDetail) => emit(cmd, shown, formatModelDetail);
  models
    .command('list')
    .description('model names with their current champion')
    .action(async (_opts: unknown, cmd: Command) => emit(cmd, await listModels(config()), formatModelList));
  models
    .command('show <name>')
    .description('the champion and the full history: who, when, why, metrics')
    .action(async (name: string, _opts: unknown, cmd: Command) => printModel(cmd, await showModel(config(), name)));
  models
    .command('promote <name> <run-id>')
    .description("make a finished run's model the champion by hand (recorded)")
    .addOption(reasonFlag())
    .option('--force', "promote even when its class names differ from the champion's")
    .action(async (name: string, runId: string, opts: { reason?: string; force?: boolean }, cmd: Command) => printModel(cmd, await promoteRun(config(), name, runId, opts)));
  models
    .command('rollback <name>')
    .description('bring back the champion before the current one (recorded)')
    .addOption(reasonFlag())
    .action(async (name: string, opts: { reason?: string }, cmd: Command) => printModel(cmd, await rollbackModel(config(), name, opts)));
}
