// Option schemas → command-line flags → options: defaults, ranges, enums, JSON values, and
// `tl run <pipeline>` and `tl schedule create` taking the same flags to the same options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { LAB_CNN_DEFAULTS, LabCnnOptionsSchema, parseOptions, TRANSFER_DEFAULTS, TransferOptionsSchema } from '../../contracts';
import { CliError, EXIT } from '../../cli/errors';
import { flagFields, schemaOptions } from '../../cli/flags';
import { buildProgram } from '../../cli/main';
import { addAllPipelineFlags, addPipelineFlags, PIPELINE_NAMES, pipelineFlags, type PipelineName } from '../../cli/pipelines';
import { RunOptionsSchema } from '../../cli/run';
import { tempDir } from '../temp-dirs';

const quiet = (cmd: Command) => cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });

/** A command with one pipeline's flags, as `tl run <pipeline>` has them, parsed from `args`. */
function runCommand(pipeline: PipelineName, args: string[]): Command {
  const cmd = quiet(addPipelineFlags(new Command('run'), pipeline));
  cmd.parse(args, { from: 'user' });
  return cmd;
}

const usageError = (message: RegExp) => (err: unknown) => err instanceof CliError && err.exitCode === EXIT.usage && message.test(err.message);

const TRANSFER_REQUIRED = ['--data', '/data/photos', '--backbone', 'mobilenet'];

test('no flags: the schema defaults, the same as LAB_CNN_DEFAULTS and TRANSFER_DEFAULTS', () => {
  assert.deepEqual(schemaOptions(runCommand('lab-cnn', []), LabCnnOptionsSchema), LAB_CNN_DEFAULTS);
  assert.deepEqual(LAB_CNN_DEFAULTS, { epochs: 10, batchSize: 64, learningRate: 0.001, learningRateDecay: 0.9, augment: false, seed: 42, validationFraction: 0.05 });
  assert.deepEqual(schemaOptions(runCommand('transfer', TRANSFER_REQUIRED), TransferOptionsSchema), { ...TRANSFER_DEFAULTS, data: '/data/photos', backbone: 'mobilenet' });
  assert.equal(TRANSFER_DEFAULTS.augment, true);
  assert.deepEqual(schemaOptions(runCommand('lab-cnn', []), RunOptionsSchema), { promoteMargin: 0.005, promote: true });
});

test('flags become typed options under their field names', () => {
  const lab = schemaOptions(runCommand('lab-cnn', ['--epochs', '3', '--lr-decay', '0.5', '--augment', '--limit', '500', '--source', 's3://b/fm']), LabCnnOptionsSchema);
  assert.deepEqual(lab, { ...LAB_CNN_DEFAULTS, epochs: 3, learningRateDecay: 0.5, augment: true, limit: 500, source: 's3://b/fm' });
  const recipe = schemaOptions(runCommand('lab-cnn', ['--lr-schedule', 'warmup-cosine', '--shift', '2', '--erase', '0.25', '--label-smoothing', '0.1', '--init', 'fan-in-uniform']), LabCnnOptionsSchema);
  assert.deepEqual(recipe, { ...LAB_CNN_DEFAULTS, lrSchedule: 'warmup-cosine', shift: 2, erase: 0.25, labelSmoothing: 0.1, init: 'fan-in-uniform' });
  const transfer = schemaOptions(runCommand('transfer', [...TRANSFER_REQUIRED, '--no-augment', '--method', 'features', '--label-smoothing', '0.1', '--tta']), TransferOptionsSchema);
  assert.equal(transfer.augment, false);
  assert.equal(transfer.method, 'features');
  assert.equal(transfer.labelSmoothing, 0.1);
  assert.equal(transfer.tta, true);
  assert.equal(schemaOptions(runCommand('lab-cnn', ['--no-promote', '--record-every', '60']), RunOptionsSchema).promote, false);
});

test('a value out of range is a usage error naming the flag and the range of its pipeline', () => {
  assert.throws(() => schemaOptions(runCommand('lab-cnn', ['--epochs', 'ten']), LabCnnOptionsSchema), usageError(/^--epochs "ten" is invalid: expected an integer from 1 to 1000$/));
  assert.throws(() => schemaOptions(runCommand('lab-cnn', ['--epochs', '2.5']), LabCnnOptionsSchema), usageError(/^--epochs "2\.5" is invalid: expected an integer/));
  assert.throws(() => schemaOptions(runCommand('lab-cnn', ['--learning-rate', '2']), LabCnnOptionsSchema), usageError(/^--learning-rate "2" is invalid: expected a number from 1e-7 to 1$/));
  assert.throws(() => schemaOptions(runCommand('transfer', [...TRANSFER_REQUIRED, '--batch-size', '2000']), TransferOptionsSchema), usageError(/^--batch-size "2000" is invalid: expected an integer from 1 to 1024$/));
  assert.equal(schemaOptions(runCommand('lab-cnn', ['--batch-size', '2000']), LabCnnOptionsSchema).batchSize, 2000);
  assert.throws(() => schemaOptions(runCommand('lab-cnn', ['--promote-margin', '2']), RunOptionsSchema), usageError(/^--promote-margin "2" is invalid: expected a number from 0 to 1$/));
});

test('an unknown enum value is refused by Commander with the choices', () => {
  assert.throws(
    () => runCommand('transfer', [...TRANSFER_REQUIRED, '--method', 'magic']),
    (err: unknown) => err instanceof CommanderError && err.code === 'commander.invalidArgument' && /Allowed choices are both, features, finetune/.test(err.message),
  );
});

test('--stages: JSON or a file; malformed JSON and bad stages name the flag and the field', () => {
  const stages = [{ name: 'head', unfreeze: 'head', epochs: 2, learningRate: 0.001 }];
  assert.deepEqual(schemaOptions(runCommand('transfer', [...TRANSFER_REQUIRED, '--stages', JSON.stringify(stages)]), TransferOptionsSchema).stages, stages);
  const file = path.join(tempDir('tl-stages-'), 'stages.json');
  fs.writeFileSync(file, JSON.stringify(stages));
  assert.deepEqual(schemaOptions(runCommand('transfer', [...TRANSFER_REQUIRED, '--stages', file]), TransferOptionsSchema).stages, stages);

  const parse = (value: string) => () => schemaOptions(runCommand('transfer', [...TRANSFER_REQUIRED, '--stages', value]), TransferOptionsSchema);
  assert.throws(parse('[{"name":'), usageError(/^--stages: stages: not valid JSON: /));
  assert.throws(parse('/no/such/file.json'), usageError(/^--stages "\/no\/such\/file\.json" is neither a JSON array nor a readable file$/));
  assert.throws(parse('[{"name":"a","unfreeze":"head","epochs":0,"learningRate":0.1}]'), usageError(/^--stages: stages\[0\]\.epochs: /));
  assert.throws(parse('[]'), usageError(/^--stages: stages: /));
});

test('a required flag left out is named', () => {
  assert.throws(() => runCommand('transfer', ['--backbone', 'x']), (err: unknown) => err instanceof CommanderError && /required option '--data/.test(err.message));
});

test('every numeric flag has a range, shown in its help', () => {
  for (const schema of [LabCnnOptionsSchema, TransferOptionsSchema, RunOptionsSchema]) {
    for (const f of flagFields(schema)) {
      if (!(f.meta.flags.includes('<n>') || f.meta.flags.includes('<x>') || f.meta.flags.includes('<seconds>'))) continue;
      const n = f.base as unknown as { minValue: number | null; maxValue: number | null };
      assert.ok(Number.isFinite(n.minValue) && Number.isFinite(n.maxValue), `${f.long} has a finite range`);
    }
  }
  const help = quiet(addPipelineFlags(new Command('run'), 'lab-cnn')).helpInformation();
  assert.match(help, /--epochs <n> +training epochs \(1 to 1000, default 10\)/);
});

test('tl run <pipeline> and tl schedule create register the same run flags', () => {
  const program = buildProgram();
  const sub = (...names: string[]) => names.reduce((cmd, name) => cmd.commands.find((c) => c.name() === name)!, program);
  const longs = (cmd: Command) => cmd.options.map((o) => o.long!);
  const create = sub('schedule', 'create');
  const scheduleOwn = ['--every', '--cron', '--pipeline', '--overlap', '--catchup-window', '--paused', '--note'];
  const runOnly = ['--id', '--wait'];
  const all = new Set<string>();
  for (const pipeline of PIPELINE_NAMES) {
    const run = longs(sub('run', pipeline)).filter((l) => !runOnly.includes(l));
    assert.deepEqual(run, pipelineFlags(pipeline), `tl run ${pipeline} takes its schemas' flags`);
    for (const l of run) assert.ok(longs(create).includes(l), `tl schedule create takes ${l} (${pipeline})`);
    run.forEach((l) => all.add(l));
  }
  assert.deepEqual(new Set(longs(create)), new Set([...scheduleOwn, ...all]), 'and nothing else');
});

test('the same flags give the same options through tl schedule create', () => {
  const cases: [PipelineName, string[]][] = [
    ['lab-cnn', ['--epochs', '3', '--batch-size', '128', '--augment', '--validation-fraction', '0.1']],
    ['transfer', [...TRANSFER_REQUIRED, '--no-augment', '--validation-fraction', '0.3', '--stages', '[{"name":"a","unfreeze":"all","epochs":1,"learningRate":0.01}]']],
  ];
  for (const [pipeline, args] of cases) {
    const schema = pipeline === 'lab-cnn' ? LabCnnOptionsSchema : TransferOptionsSchema;
    const schedule = quiet(addAllPipelineFlags(new Command('create')));
    schedule.parse(args, { from: 'user' });
    assert.deepEqual(schemaOptions(schedule, schema), schemaOptions(runCommand(pipeline, args), schema), pipeline);
  }
  // The pipeline's own range applies: 0.01 is a lab-cnn validation fraction, not a transfer one.
  const schedule = quiet(addAllPipelineFlags(new Command('create')));
  schedule.parse([...TRANSFER_REQUIRED, '--validation-fraction', '0.01'], { from: 'user' });
  assert.throws(() => schemaOptions(schedule, TransferOptionsSchema), usageError(/^--validation-fraction "0\.01" is invalid: expected a number from 0\.05 to 0\.5$/));
});

test('--json is declared once, on the program', () => {
  const program = buildProgram();
  assert.ok(program.options.some((o) => o.long === '--json'));
  const declaring: string[] = [];
  const walk = (cmd: Command, name: string) => {
    for (const c of cmd.commands) {
      if (c.options.some((o) => o.long === '--json')) declaring.push(`${name} ${c.name()}`);
      walk(c, `${name} ${c.name()}`);
    }
  };
  walk(program, 'tl');
  assert.deepEqual(declaring, []);
});

test('the workflows parse their options with the same schemas', () => {
  assert.deepEqual(parseOptions(LabCnnOptionsSchema, { epochs: 2 }), { ...LAB_CNN_DEFAULTS, epochs: 2 });
  assert.throws(() => parseOptions(LabCnnOptionsSchema, { ...LAB_CNN_DEFAULTS, epochs: 0 }), /^Error: invalid options: epochs: Too small/);
  assert.throws(() => parseOptions(TransferOptionsSchema, { ...TRANSFER_DEFAULTS, data: 'd', backbone: 'b', method: 'magic' }), /method: Invalid option/);
});
