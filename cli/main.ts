// The `tl` command line.
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { CliError, EXIT, intOption, numberOption } from './errors';
import { labCnnStart, runLabCnn, runTransfer, transferStart, type RunTransferFlags } from './run';
import {
  createSchedule,
  deleteSchedule,
  formatSchedule,
  listSchedules,
  OVERLAP_POLICIES,
  pauseSchedule,
  showSchedule,
  triggerSchedule,
  unpauseSchedule,
  type ScheduleCreateFlags,
  type ScheduleView,
} from './schedule';
import { RUN_STATUSES } from '../contracts/search-attributes';
import { predict } from './predict';
import { connectTemporal } from './connect';
import { cancelRun, listRuns, showRun } from './runs';
import { fetchReport } from './report';
import { formatModelDetail, formatModelList, listModels, promoteRun, rollbackModel, showModel, type ModelDetail } from './models';
import { DEFAULT_PROMOTE_MARGIN } from '../lib/store/promotion';
import type { WorkerBackend } from '../workers/worker';
import { SCALINGS } from '../lib/models/backbone';
import {
  addBackboneCommand,
  checkBackboneSpec,
  formatBackbone,
  formatBackboneList,
  listBackbonesCommand,
  removeBackboneCommand,
  showBackboneCommand,
} from './backbones';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
/** With --json, stdout carries one JSON document, errors included; human text goes to stderr. */
const jsonMode = process.argv.includes('--json');
const note = (line: string): void => void process.stderr.write(`${line}\n`);
let usageMessage: string | undefined;

let cachedConfig: Config | undefined;
/** Config is read once, on first use, so `tl --help` works even with a bad environment. */
const config = (): Config => (cachedConfig ??= loadConfig());

function buildProgram(): Command {
  const program = new Command('tl')
    .description('Train image classifiers by transfer learning, as Temporal workflows with artifacts in S3')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      // Usage errors as one line: "tl: unknown option '--epoch' (Did you mean --epochs?)".
      writeErr: (s) => {
        const line = s.startsWith('error:') ? s.slice(7).trim().replace(/\s*\n\s*/g, ' ') : undefined;
        if (jsonMode && line) usageMessage = line;
        else process.stderr.write(line ? `tl: ${line}\n` : s);
      },
    });

  const stack = program.command('stack').description('the local stack (Temporal dev server + MinIO), without Docker');
  stack
    .command('up')
    .description('install what is missing, start Temporal and MinIO on loopback, create the bucket')
    .option('--json', 'machine-readable output: the status after start (progress goes to stderr)')
    .option('--tls', 'the secured stack (as TL_STACK_TLS=1): generated CA and certificates, HTTPS MinIO, a Temporal frontend that requires client certificates')
    .action(async (opts) => {
      const { stackUp } = await import('../infra/stack');
      const cfg = config();
      if (opts.tls) cfg.stack.tls = true;
      const status = await stackUp(cfg, opts.json ? note : out);
      if (opts.json) json(status);
      else printStatus(status);
    });
  stack
    .command('down')
    .description('stop what `tl stack up` started')
    .option('--json', 'machine-readable output: what was done, and the status after')
    .action(async (opts) => {
      const { stackDown, stackStatus } = await import('../infra/stack');
      const log: string[] = [];
      await stackDown(config(), opts.json ? (line) => log.push(line) : out);
      if (opts.json) json({ log, status: await stackStatus(config()) });
    });
  stack
    .command('status')
    .description('show the state of each service')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const { stackStatus } = await import('../infra/stack');
      const status = await stackStatus(config());
      if (opts.json) json(status);
      else printStatus(status);
      const healthy = status.temporal.healthy && status.minio.healthy;
      if (!healthy) process.exitCode = EXIT.stackDown;
    });

  const run = program.command('run').description('start a pipeline run');
  labCnnOptions(run.command('lab-cnn').description('train and evaluate the course-lab CNN on Fashion-MNIST'))
    .option('--id <run-id>', 'workflow id to use (default: generated)')
    .option('--wait', 'follow the run with a progress bar and print its test accuracy')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const result = await runLabCnn(config(), opts, opts.json ? note : out);
      if (opts.json) json(typeof result === 'string' ? { runId: result } : result);
    });

  transferOptions(run.command('transfer').description('turn a folder of photos and a pretrained backbone into the better of two classifiers'))
    .option('--id <run-id>', 'workflow id to use (default: generated)')
    .option('--wait', 'follow the run with a progress bar and print both methods\' results')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const result = await runTransfer(config(), opts, opts.json ? note : out);
      if (opts.json) json(typeof result === 'string' ? { runId: result } : result);
    });

  addScheduleCommands(program);

  program
    .command('predict <images...>')
    .description('classify image files with the model a transfer run chose')
    .requiredOption('--model <run-id|s3://bucket/prefix>', 'a run id, or the S3 folder of a saved model')
    .option('--tta', 'average over test-time augmentations (flip, centre and corner crops)')
    .option('--json', 'machine-readable output')
    .action(async (images: string[], opts) => {
      const results = await predict(config(), opts.model, images, { tta: opts.tta });
      if (opts.json) json(results);
      else for (const r of results) out(r.error ? `${r.file}\terror: ${r.error}` : `${r.file}\t${r.className}\t${r.probability!.toFixed(4)}`);
      if (results.some((r) => r.error)) process.exitCode = EXIT.failure;
    });

  const runs = program.command('runs').description('list, inspect and cancel runs');
  runs
    .command('list')
    .description('recent runs, newest first, optionally filtered (a visibility query on the run\'s search attributes)')
    .option('--limit <n>', 'how many', intOption('--limit', 1, 1000), 20)
    .addOption(new Option('--status <status>', 'only runs in this state').choices(Object.keys(RUN_STATUSES)))
    .addOption(new Option('--pipeline <pipeline>', 'only runs of this pipeline').choices(['lab-cnn', 'transfer']))
    .option('--schedule <name>', 'only runs started by this schedule')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const list = await listRuns(await connectTemporal(config()), opts.limit, { status: opts.status, pipeline: opts.pipeline, schedule: opts.schedule });
      if (opts.json) return json(list);
      if (!list.length) return out('no runs match: start one with `tl run lab-cnn --wait`');
      for (const r of list) {
        const accuracy = r.bestAccuracy === undefined ? '' : `${(r.bestAccuracy * 100).toFixed(2)}%`;
        out(`${r.id.padEnd(40)} ${r.status.padEnd(11)} ${(r.step ?? '').padEnd(9)} ${accuracy.padStart(7)}  ${r.started ?? ''}  ${r.schedule ? `schedule ${r.schedule}` : ''}`.trimEnd());
      }
    });
  runs
    .command('show <id>')
    .description("a run's status, live progress or result")
    .option('--json', 'machine-readable output (the default; kept for symmetry with other commands)')
    .action(async (id) => json(await showRun(await connectTemporal(config()), id)));
  runs
    .command('cancel <id>')
    .description('cancel a running run')
    .option('--json', 'machine-readable output')
    .action(async (id, opts) => {
      await cancelRun(await connectTemporal(config()), id);
      if (opts.json) json({ id, cancelRequested: true });
      else out(`cancellation requested for ${id}`);
    });

  const models = program.command('models').description('the model registry: champions and their history');
  const printModel = (opts: { json?: boolean }, shown: ModelDetail) => (opts.json ? json(shown) : formatModelDetail(shown).forEach(out));
  models
    .command('list')
    .description('model names with their current champion')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const list = await listModels(config());
      if (opts.json) json(list);
      else formatModelList(list).forEach(out);
    });
  models
    .command('show <name>')
    .description('the champion and the full history: who, when, why, metrics')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      printModel(opts, await showModel(config(), name));
    });
  models
    .command('promote <name> <run-id>')
    .description("make a finished run's model the champion by hand (recorded)")
    .option('--reason <text>', 'why, for the history')
    .option('--force', 'promote even when its class names differ from the champion\'s')
    .option('--json', 'machine-readable output')
    .action(async (name, runId, opts) => {
      printModel(opts, await promoteRun(config(), name, runId, opts));
    });
  models
    .command('rollback <name>')
    .description('bring back the champion before the current one (recorded)')
    .option('--reason <text>', 'why, for the history')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      printModel(opts, await rollbackModel(config(), name, opts));
    });

  addBackboneCommands(program);

  program
    .command('report <id>')
    .description("print a run's report (Markdown), save it with --out (HTML, or Markdown for *.md), or --open the HTML page")
    .option('--out <file>', 'write the report to this file (.html or .md)')
    .option('--open', 'save the HTML page (to --out, else a temporary file) and open it with xdg-open')
    .option('--json', "machine-readable output: the report's data, its S3 keys and the file written")
    .action(async (id, opts) => {
      const { result, text } = await fetchReport(config(), id, opts);
      if (opts.json) json(result);
      else out(text);
    });

  program
    .command('doctor')
    .description('check the stack, credentials, TensorFlow.js backends, workers, data, browser and disk; say how to fix what is wrong')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const { runDoctor, formatChecks, doctorFailed } = await import('./doctor');
      const checks = await runDoctor(config());
      if (opts.json) json({ ok: !doctorFailed(checks), checks });
      else out(formatChecks(checks));
      if (doctorFailed(checks)) process.exitCode = EXIT.failure;
    });

  program
    .command('worker')
    .description('run a worker until interrupted (on the CPU queue: workflows and activities, in two processes)')
    .addOption(new Option('--queue <queue>', 'which task queue to serve').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--only <part>', 'serve one part of the CPU queue in this process: its workflows or its activities').choices(['workflows', 'activities']))
    .option('--json', 'print one JSON document once serving (queue, backend, pid); logs go to stderr')
    .action(async (opts) => {
      const cfg = config();
      const log = opts.json ? note : out;
      const serving = (s: { taskQueue: string; backend?: WorkerBackend; pid: number; activitiesPid?: number }) => {
        if (opts.json) json({ ...s, queue: opts.queue, address: cfg.temporal.address, namespace: cfg.temporal.namespace });
      };
      exitOnSecondSignal(log, cfg.worker.shutdownSeconds);
      const { serveHealth } = await import('../workers/health');
      // Health is served where the queue is polled for the user: by the parent in the two-process form.
      const health = (worker: Parameters<typeof serveHealth>[0], taskQueue: string) => {
        if (cfg.worker.healthPort) serveHealth(worker, cfg.worker.healthPort, taskQueue);
      };
      if (opts.queue === 'cpu' && !opts.only) {
        const { runSplitWorker } = await import('../workers/split');
        return runSplitWorker(cfg, log, serving, { json: opts.json, onWorker: health });
      }
      if (opts.queue === 'gpu' && opts.only === 'workflows') throw new CliError('--only workflows: the GPU queue carries activities only; workflows run on the CPU queue', EXIT.usage);
      const { createWorker, servingLine } = await import('../workers/worker');
      const { reportToParent } = await import('../workers/split');
      const { worker, backend, taskQueue } = await createWorker(cfg, opts.queue, log, opts.only ?? (opts.queue === 'cpu' ? 'both' : 'activities'));
      if (!reportToParent({ taskQueue, backend })) {
        log(servingLine(cfg, taskQueue, opts.only ? `${opts.only} only` : ''));
        serving({ taskQueue, backend, pid: process.pid });
        health(worker, taskQueue);
      }
      await worker.run();
    });

  return program;
}

/** Options of `tl run lab-cnn` that shape the run; `tl schedule create --pipeline lab-cnn` takes the same. */
function labCnnOptions(cmd: Command): Command {
  cmd
    .option('--epochs <n>', 'training epochs', intOption('--epochs', 1, 1000))
    .option('--batch-size <n>', 'mini-batch size', intOption('--batch-size', 1, 8192))
    .option('--limit <n>', 'train on a seeded subset of this many training images', intOption('--limit', 20, 60000))
    .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 31 - 1))
    .option('--learning-rate <x>', 'Adam learning rate of the first epoch', numberOption('--learning-rate', 1e-7, 1))
    .option('--lr-decay <x>', 'per-epoch learning-rate factor (1 = constant)', numberOption('--lr-decay', 0.01, 1))
    .option('--augment', 'random horizontal flips of training images')
    .option('--validation-fraction <x>', 'share of the training images held out for validation', numberOption('--validation-fraction', 0.01, 0.5))
    .option('--source <dir|url|s3://bucket/prefix>', 'where the Fashion-MNIST IDX files are (default: TL_FASHION_MNIST_DIR)');
  return promotionOptions(cmd, 'lab-cnn-fashion-mnist');
}

/** Options of `tl run transfer` that shape the run; `tl schedule create --pipeline transfer` takes the same. */
function transferOptions(cmd: Command): Command {
  cmd
    .requiredOption('--data <dir|s3://bucket/prefix|archive>', 'images laid out class/* or {train,val,test}/class/*; .zip or .tar.gz accepted')
    .requiredOption('--backbone <name|path|s3://bucket/prefix|url>', 'a registered backbone (`tl backbones list`) or a tfjs Layers model (model.json + weights)')
    .option('--cut-layer <name>', 'layer whose output are the features (default: the global-average-pool before the classifier)')
    .addOption(new Option('--method <method>', 'which transfer method(s) to run').choices(['both', 'features', 'finetune']).default('both'))
    .option('--stages <json|file>', 'fine-tuning stages, e.g. [{"name":"head","unfreeze":"head","epochs":5,"learningRate":0.001}] (default: chosen from the number of training images)')
    .addOption(new Option('--resize <mode>', 'how images are fitted to the backbone input').choices(['cover', 'contain', 'fill']))
    .option('--no-augment', 'no random flips and crops while fine-tuning')
    .option('--patience <n>', 'early-stopping patience in epochs', intOption('--patience', 1, 100))
    .option('--tta', 'also report held-out accuracy with test-time augmentation (flip, centre and corner crops)')
    .addOption(new Option('--lr-schedule <schedule>', 'learning rate within each fine-tuning stage (default constant)').choices(['constant', 'warmup-cosine']))
    .option('--label-smoothing <x>', 'label smoothing for fine-tuning (default 0)', numberOption('--label-smoothing', 0, 0.5))
    .option('--layer-decay <x>', 'discriminative learning rates: deeper trained layers at ×x and ×x² (default 1 = off)', numberOption('--layer-decay', 0.01, 1))
    .option('--validation-fraction <x>', 'share of train held back for choices', numberOption('--validation-fraction', 0.05, 0.5))
    .option('--batch-size <n>', 'mini-batch size', intOption('--batch-size', 1, 1024))
    .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 31 - 1));
  return promotionOptions(cmd, "the dataset folder's name");
}

/** The champion/challenger options both pipelines take (and how often a run records its epochs). */
function promotionOptions(cmd: Command, defaultModelName: string): Command {
  return cmd
    .option('--record-every <seconds>', 'least seconds between the epoch records a run keeps in its history (default 300)', intOption('--record-every', 5, 86_400))
    .option('--model-name <name>', `registry model name to compete for champion of (default: ${defaultModelName})`)
    .option('--promote-margin <x>', `accuracy gain over the champion needed to replace it (default: ${DEFAULT_PROMOTE_MARGIN})`, numberOption('--promote-margin', 0, 1))
    .option('--no-promote', 'skip the champion/challenger step');
}

const PIPELINE_OPTIONS = { 'lab-cnn': labCnnOptions, transfer: transferOptions } as const;

/** The options of `tl schedule create` itself, before the pipeline's. */
function scheduleCreateOptions(cmd: Command, pipelineRequired = true): Command {
  const pipeline = new Option('--pipeline <pipeline>', 'which pipeline the runs use').choices(Object.keys(PIPELINE_OPTIONS));
  return cmd
    .argument('<name>', 'schedule name (letters, digits, . _ -); also the TlSchedule search attribute of its runs')
    .option('--every <duration>', 'start a run at this interval, e.g. 24h, 30m')
    .option('--cron <expression>', 'start runs on this cron timetable (UTC), e.g. "0 3 * * *"')
    .addOption(pipeline.makeOptionMandatory(pipelineRequired))
    .addOption(new Option('--overlap <policy>', 'when a run is due while the last one still runs').choices(Object.keys(OVERLAP_POLICIES)).default('skip'))
    .option('--catchup-window <duration>', 'runs missed while the server was down are still started within this window', '1h')
    .option('--paused', 'create the schedule paused')
    .option('--note <text>', 'a note shown with the schedule (e.g. why it is paused)')
    .option('--json', 'machine-readable output');
}

/** `--pipeline X` or `--pipeline=X` anywhere in the arguments (the first pass stops at the first pipeline option). */
function pipelineIn(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--pipeline') return args[i + 1];
    if (args[i]!.startsWith('--pipeline=')) return args[i]!.slice('--pipeline='.length);
  }
  return undefined;
}

function addScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('scheduled retraining (Temporal Schedules): create, list, show, pause, unpause, trigger, delete');
  const print = (opts: { json?: boolean }, value: ScheduleView | ScheduleView[]) => {
    if (opts.json) return json(value);
    const views = Array.isArray(value) ? value : [value];
    if (!views.length) return out('no schedules: create one with `tl schedule create <name> --every 24h --pipeline lab-cnn`');
    for (const v of views) formatSchedule(v).forEach(out);
  };

  // The pipeline decides which run options exist, so the arguments are parsed in a second pass
  // by a command that has both the schedule's options and that pipeline's (the same as `tl run`'s).
  scheduleCreateOptions(schedule.command('create'), false)
    .description('create a schedule that starts runs of a pipeline; takes the options of `tl run <pipeline>` too')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_name: string, _opts: unknown, cmd: Command) => {
      const rawArgs = cmd.parent!.args.slice(1);
      const pipeline = (cmd.opts().pipeline ?? pipelineIn(rawArgs)) as keyof typeof PIPELINE_OPTIONS | undefined;
      if (!pipeline || !(pipeline in PIPELINE_OPTIONS)) {
        throw new CliError(`--pipeline is required: one of ${Object.keys(PIPELINE_OPTIONS).join(', ')}`, EXIT.usage);
      }
      const full = PIPELINE_OPTIONS[pipeline](scheduleCreateOptions(new Command('tl schedule create')))
        .exitOverride()
        .configureOutput(program.configureOutput());
      full.parse(rawArgs, { from: 'user' });
      const [name] = full.args as [string];
      const opts = full.opts();
      const cfg = config();
      const spec = pipeline === 'lab-cnn' ? labCnnStart(cfg, opts, `schedule:${name}`) : transferStart(cfg, opts as RunTransferFlags, `schedule:${name}`);
      if (pipeline === 'transfer') await checkBackboneSpec(cfg, (opts as RunTransferFlags).backbone);
      const created = await createSchedule(await connectTemporal(cfg), cfg, name, spec, opts as ScheduleCreateFlags);
      if (opts.json) json(created);
      else {
        out(`created schedule ${name}`);
        formatSchedule(created).forEach(out);
      }
    });
  schedule
    .command('list')
    .description("tl's schedules")
    .option('--json', 'machine-readable output')
    .action(async (opts) => print(opts, await listSchedules(await connectTemporal(config()))));
  schedule
    .command('show <name>')
    .description("a schedule's timetable, policies, next and recent runs")
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => print(opts, await showSchedule(await connectTemporal(config()), name)));
  schedule
    .command('pause <name>')
    .description('stop starting runs until unpaused')
    .option('--note <text>', 'why it is paused')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => print(opts, await pauseSchedule(await connectTemporal(config()), name, opts.note)));
  schedule
    .command('unpause <name>')
    .description('start runs on the timetable again')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => print(opts, await unpauseSchedule(await connectTemporal(config()), name)));
  schedule
    .command('trigger <name>')
    .description('start a run now, even if one is running')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      const triggered = await triggerSchedule(await connectTemporal(config()), name);
      if (opts.json) json(triggered);
      else out(triggered.runId ? `started run ${triggered.runId}` : `triggered schedule ${name}`);
    });
  schedule
    .command('delete <name>')
    .description('delete a schedule (runs it started go on)')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      const deleted = await deleteSchedule(await connectTemporal(config()), name);
      if (opts.json) json(deleted);
      else out(`deleted schedule ${name}`);
    });
}

/** The SDK shuts the worker down on the first SIGTERM/SIGINT; a second one means now. */
function exitOnSecondSignal(log: (line: string) => void, boundSeconds: number): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) log(`${signal}: stopping: no new tasks; running activities stop at their next batch with a checkpoint (at most ${boundSeconds} s; signal again to exit now)`);
    else process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function addBackboneCommands(program: Command): void {
  const backbones = program.command('backbones').description('named pretrained backbones, stored once in S3 and usable as --backbone <name> by every worker');
  backbones
    .command('add <name> <source>')
    .description('store a tfjs Layers model (a folder, s3://bucket/prefix or an http(s) URL) under a name')
    .option('--license <licence>', 'the weights\' licence, e.g. Apache-2.0')
    .option('--notes <text>', 'where it comes from, what it is good for')
    .addOption(new Option('--scaling <scaling>', "how pixels become the model's input (needed when model.json does not record it)").choices([...SCALINGS]))
    .option('--cut-layer <name>', 'default feature layer (default: the global-average-pool before the classifier)')
    .option('--json', 'machine-readable output')
    .action(async (name, source, opts) => {
      const added = await addBackboneCommand(config(), name, source, opts);
      if (opts.json) return json(added);
      out(added.created ? `added backbone ${name}` : `backbone ${name} already holds this model; nothing changed`);
      formatBackbone(added).forEach(out);
    });
  backbones
    .command('list')
    .description('registered backbones')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const list = await listBackbonesCommand(config());
      if (opts.json) json(list);
      else formatBackboneList(list).forEach(out);
    });
  backbones
    .command('show <name>')
    .description("a backbone's record: model location and hash, input, scaling, cut layer, parameters, licence")
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      const shown = await showBackboneCommand(config(), name);
      if (opts.json) json(shown);
      else formatBackbone(shown).forEach(out);
    });
  backbones
    .command('remove <name>')
    .description('forget a name (its stored model goes too when no other name uses it)')
    .option('--json', 'machine-readable output')
    .action(async (name, opts) => {
      const removed = await removeBackboneCommand(config(), name);
      if (opts.json) json(removed);
      else out(`removed backbone ${name}${removed.modelDeleted ? ' and its stored model' : ' (its model stays: another name uses it)'}`);
    });
}

function printStatus(status: object): void {
  for (const value of Object.values(status)) {
    const s = value as { name: string; url?: string; healthy?: boolean; exists?: boolean; pid?: number; startedByTl?: boolean; detail?: string };
    const ok = s.healthy ?? s.exists;
    const extra = [s.pid ? `pid ${s.pid}` : '', s.startedByTl === false && ok ? 'not started by tl' : '', s.detail ?? ''].filter(Boolean).join(', ');
    out(`${ok ? 'up  ' : 'down'}  ${s.name.padEnd(12)} ${s.url ?? ''}${extra ? `  (${extra})` : ''}`);
  }
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (unless --json); help and version are not failures.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      if (jsonMode && err.exitCode !== 0) json({ error: usageMessage ?? err.message, exitCode: EXIT.usage });
    } else {
      const e = err as Error & { exitCode?: number; cause?: Error };
      const message = (e.name === 'WorkflowFailedError' && e.cause ? describeFailure(e) : e.message).split('\n')[0];
      process.exitCode = e instanceof CliError ? e.exitCode : e.name === 'ConfigError' ? EXIT.usage : EXIT.failure;
      if (jsonMode) json({ error: message, exitCode: process.exitCode });
      else process.stderr.write(`tl: ${message}\n`);
    }
  }
  // Open gRPC channels would keep the process alive: flush output, then leave.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit();
}

/** The innermost cause of a failed workflow is the one a person can act on. */
function describeFailure(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return `run failed: ${cause.message}`;
}

void main();
