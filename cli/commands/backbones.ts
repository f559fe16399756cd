// `tl backbones add|list|show|remove`: named pretrained backbones stored in S3.
import { Option, type Command } from 'commander';
import { SCALINGS } from '../../lib/models/backbone';
import { config, emit, json, out, wantsJson } from '../context';
import { addBackboneCommand, formatBackbone, formatBackboneList, listBackbonesCommand, removeBackboneCommand, showBackboneCommand } from '../backbones';

export function registerBackbones(program: Command): void {
  const backbones = program.command('backbones').description('named pretrained backbones, stored once in S3 and usable as --backbone <name> by every worker');
  backbones
    .command('add <name> <source>')
    .description('store a tfjs Layers model (a folder, s3://bucket/prefix or an http(s) URL) under a name')
    .option('--license <licence>', "the weights' licence, e.g. Apache-2.0")
    .option('--notes <text>', 'where it comes from, what it is good for')
    .addOption(new Option('--scaling <scaling>', "how pixels become the model's input (needed when model.json does not record it)").choices([...SCALINGS]))
    .option('--cut-layer <name>', 'default feature layer (default: the global-average-pool before the classifier)')
    .action(async (name: string, source: string, opts: Parameters<typeof addBackboneCommand>[3], cmd: Command) => {
      const added = await addBackboneCommand(config(), name, source, opts);
      if (wantsJson(cmd)) return json(added);
      out(added.created ? `added backbone ${name}` : `backbone ${name} already holds this model; nothing changed`);
      formatBackbone(added).forEach(out);
    });
  backbones
    .command('list')
    .description('registered backbones')
    .action(async (_opts: unknown, cmd: Command) => emit(cmd, await listBackbonesCommand(config()), formatBackboneList));
  backbones
    .command('show <name>')
    .description("a backbone's record: model location and hash, input, scaling, cut layer, parameters, licence")
    .action(async (name: string, _opts: unknown, cmd: Command) => emit(cmd, await showBackboneCommand(config(), name), formatBackbone));
  backbones
    .command('remove <name>')
    .description('forget a name (its stored model goes too when no other name uses it)')
    .action(async (name: string, _opts: unknown, cmd: Command) => emit(cmd, await removeBackboneCommand(config(), name), (removed) => `removed backbone ${name}${removed.modelDeleted ? ' and its stored model' : ' (its model stays: another name uses it)'}`));
}
