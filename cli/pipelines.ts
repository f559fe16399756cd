// The two pipelines as the command line sees them: each one's option schema, and how parsed
// flags become the run to start. `tl run <pipeline>` and `tl schedule create --pipeline <pipeline>`
// both go through here, so they take the same flags and start the same run.
import type { Command } from 'commander';
import type { Config } from '../lib/config';
import { LabCnnOptionsSchema, TransferOptionsSchema, type OptionsSchema } from '../contracts';
import { addSchemaFlags, flagFields, givenFlags, optionFor, schemaOptions, type AddFlagsOptions } from './flags';
import { labCnnStart, LAB_CNN_MODEL_NAME, RunOptionsSchema, transferStart, type PipelineStart } from './run';

export const PIPELINES = {
  'lab-cnn': { schema: LabCnnOptionsSchema, defaultModelName: LAB_CNN_MODEL_NAME },
  transfer: { schema: TransferOptionsSchema, defaultModelName: "the dataset folder's name" },
} as const satisfies Record<string, { schema: OptionsSchema; defaultModelName: string }>;

export type PipelineName = keyof typeof PIPELINES;
export const PIPELINE_NAMES = Object.keys(PIPELINES) as PipelineName[];

const runFlagDescriptions = (pipeline: PipelineName) => ({
  modelName: `registry model name to compete for champion of (default: ${PIPELINES[pipeline].defaultModelName})`,
});

/** Adds the pipeline's option flags, then the run flags (--record-every, --model-name, …). */
export function addPipelineFlags(cmd: Command, pipeline: PipelineName, opts: AddFlagsOptions = {}): Command {
  addSchemaFlags(cmd, PIPELINES[pipeline].schema, opts);
  return addSchemaFlags(cmd, RunOptionsSchema, { ...opts, describe: { ...runFlagDescriptions(pipeline), ...opts.describe } });
}

/** The long flags a pipeline's runs take. */
export function pipelineFlags(pipeline: PipelineName): string[] {
  return [...flagFields(PIPELINES[pipeline].schema), ...flagFields(RunOptionsSchema)].map((f) => f.long);
}

/** The run that `cmd`'s parsed flags ask for; `requestedBy` names a schedule that starts it. */
export function pipelineStart(config: () => Config, cmd: Command, pipeline: PipelineName, requestedBy?: string): { spec: PipelineStart; backbone?: string } {
  // The flags are checked before the configuration is read: a bad flag is named even in a bad environment.
  if (pipeline === 'lab-cnn') {
    const options = schemaOptions(cmd, LabCnnOptionsSchema);
    const run = schemaOptions(cmd, RunOptionsSchema);
    return { spec: labCnnStart(config(), options, run, requestedBy) };
  }
  const options = schemaOptions(cmd, TransferOptionsSchema);
  const run = schemaOptions(cmd, RunOptionsSchema);
  return { spec: transferStart(config(), options, run, requestedBy), backbone: options.backbone };
}

/**
 * Adds every pipeline's flags once, for a command that takes any pipeline's (`tl schedule
 * create`); `pipelineStart` then checks the given values against the chosen pipeline's schema,
 * and `foreignFlags` names those that pipeline does not take.
 */
export function addAllPipelineFlags(cmd: Command): Command {
  const fields = PIPELINE_NAMES.flatMap((p) => [...flagFields(PIPELINES[p].schema), ...flagFields(RunOptionsSchema)].map((f) => ({ p, f })));
  const owners = (long: string) => [...new Set(fields.filter((x) => x.f.long === long).map((x) => x.p))];
  const shared = (long: string) => owners(long).length === PIPELINE_NAMES.length;
  // Flags every pipeline takes first, then each pipeline's own.
  for (const { f } of [...fields.filter((x) => shared(x.f.long)), ...fields.filter((x) => !shared(x.f.long))]) {
    if (cmd.options.some((o) => o.long === f.long)) continue;
    const group = shared(f.long) ? 'Run options (any pipeline):' : `Run options (--pipeline ${owners(f.long).join(', ')}):`;
    cmd.addOption(optionFor(f, { plain: true, group }));
  }
  return cmd;
}

/** Flags given on `cmd` that are neither `own` (the command's) nor the pipeline's. */
export function foreignFlags(cmd: Command, pipeline: PipelineName, own: string[]): string[] {
  const allowed = new Set([...own, ...pipelineFlags(pipeline)]);
  return givenFlags(cmd).filter((long) => !allowed.has(long));
}
