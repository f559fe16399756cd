// `tl backbones add | list | show | remove`: named pretrained backbones in S3 (lib/store/backbone-registry.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../lib/config';
import {
  BackboneRegistryError,
  addBackbone,
  backboneSource,
  isBackboneName,
  listBackbones,
  readBackbone,
  removeBackbone,
  type BackboneRecord,
} from '../lib/store/backbone-registry';
import type { Scaling } from '../lib/models/backbone';
import { initBackend } from '../lib/tf/backend';
import { connectStore } from './connect';
import { asUsageErrors, CliError, EXIT } from './errors';
import { currentUser } from './system';

export interface BackboneView extends BackboneRecord {
  /** Where workers read it from. */
  url: string;
}

/** Unknown names and refused adds are the caller's to fix: usage exit code. */
const registryCall = <T>(body: () => Promise<T>): Promise<T> => asUsageErrors((e) => e instanceof BackboneRegistryError || e.name === 'ModelFormatError', body);

export async function addBackboneCommand(
  config: Config,
  name: string,
  source: string,
  opts: { license?: string; notes?: string; scaling?: Scaling; cutLayer?: string },
): Promise<BackboneView & { created: boolean }> {
  const store = await connectStore(config);
  await initBackend({ queue: 'cpu', forced: config.backend });
  const where = /^(s3|https?|file):\/\//i.test(source) ? source : path.resolve(source);
  const { record, created } = await registryCall(() => addBackbone(store, name, where, { ...opts, addedBy: currentUser() }));
  return { ...record, url: backboneSource(store, record), created };
}

export async function listBackbonesCommand(config: Config): Promise<BackboneView[]> {
  const store = await connectStore(config);
  return (await registryCall(() => listBackbones(store))).map((r) => ({ ...r, url: backboneSource(store, r) }));
}

export async function showBackboneCommand(config: Config, name: string): Promise<BackboneView> {
  const store = await connectStore(config);
  const record = await registryCall(() => readBackbone(store, name));
  return { ...record, url: backboneSource(store, record) };
}

export async function removeBackboneCommand(config: Config, name: string): Promise<{ name: string; sha256: string; modelDeleted: boolean }> {
  const store = await connectStore(config);
  const { record, modelDeleted } = await registryCall(() => removeBackbone(store, name));
  return { name: record.name, sha256: record.sha256, modelDeleted };
}

/**
 * What `--backbone` means: an existing local path stays a path (made absolute, since workers
 * do not share the CLI's directory); otherwise a bare name is a registered backbone, checked
 * here so a typo fails before a run or schedule is created.
 */
export async function checkBackboneSpec(config: Config, spec: string): Promise<void> {
  if (!isBackboneName(spec) || fs.existsSync(spec)) return;
  const store = await connectStore(config);
  await registryCall(() => readBackbone(store, spec)).catch((err: CliError) => {
    throw new CliError(`--backbone: ${err.message}`, EXIT.usage);
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const millions = (n: number) => `${(n / 1e6).toFixed(2)} M`;

export function formatBackboneList(list: BackboneView[]): string[] {
  if (!list.length) return ['no backbones: add one with `tl backbones add <name> <path|s3://…|url> --license …`'];
  return list.map((b) => `${b.name.padEnd(28)} ${`${b.inputSize.join('×')}×${b.channels}`.padEnd(11)} ${b.scaling.padEnd(9)} ${millions(b.parameters).padStart(8)} params  cut ${b.cutLayer} (${b.featureDim}-d)  ${b.license}`);
}

export function formatBackbone(b: BackboneView): string[] {
  return [
    `backbone ${b.name}`,
    `  model:      ${b.url} (sha256 ${b.sha256}, ${mb(b.bytes)})`,
    `  input:      ${b.inputSize.join('×')}×${b.channels}, scaling ${b.scaling} (${b.scalingFrom === 'model' ? "from the model's metadata" : 'given when added'})`,
    `  features:   ${b.cutLayer} (${b.featureDim}-d, ${b.cutLayerFrom === 'model' ? 'the default cut' : 'given when added'})`,
    `  parameters: ${b.parameters.toLocaleString('en-US')}`,
    `  licence:    ${b.license}`,
    ...(b.notes ? [`  notes:      ${b.notes}`] : []),
    `  added:      ${b.addedAt} by ${b.addedBy} from ${b.addedFrom}`,
  ];
}
