// Named backbones: a pretrained model stored once in S3 under its content hash, and a small
// record per name saying what the model needs (input size, scaling, cut layer) and what it is
// (parameters, licence). Runs, schedules and workers refer to the name; every worker reads the
// same bytes from S3, so nothing depends on one machine's paths.
//
//   backbones/names/<name>.json          the record (validated with zod when read back)
//   backbones/models/<sha256>/model.json  the model's files, as loaded (weights keep their names)
import { z } from 'zod';
import { ArtifactStore, NotFoundError, PreconditionFailedError } from './store';
import { SCALINGS, loadBackboneFrom, readerForSource, type Scaling } from '../models/backbone';
import { confineWeightsPath, readModelArtifacts, type ModelJson, type ModelReader } from '../tf/model-io';
import { BadInputError } from '../errors';

export class BackboneRegistryError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'BackboneRegistryError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * A backbone name has no '/' and no scheme, which is how a name tells itself apart from a
 * path or URL wherever `--backbone` is read.
 */
export function isBackboneName(spec: string): boolean {
  return NAME.test(spec) && !spec.includes('..');
}

export function validBackboneName(name: string): string {
  if (!isBackboneName(name)) throw new BackboneRegistryError(`backbone name ${JSON.stringify(name)} is invalid: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return name;
}

export const backboneKeys = {
  names: 'backbones/names/',
  record: (name: string) => `backbones/names/${validBackboneName(name)}.json`,
  model: (sha256: string) => `backbones/models/${sha256}`,
};

const recordSchema = z.strictObject({
  name: z.string().regex(NAME),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Key prefix of the stored model (backboneKeys.model(sha256)). */
  modelKey: z.string().min(1),
  addedFrom: z.string().min(1),
  addedAt: z.string().min(1),
  addedBy: z.string().min(1),
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  channels: z.union([z.literal(1), z.literal(3)]),
  scaling: z.enum(SCALINGS as [Scaling, ...Scaling[]]),
  /** 'model': read from model.json's metadata; 'flag': given when the backbone was added. */
  scalingFrom: z.enum(['model', 'flag']),
  cutLayer: z.string().min(1),
  cutLayerFrom: z.enum(['model', 'flag']),
  featureDim: z.number().int().positive(),
  parameters: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  license: z.string().min(1),
  notes: z.string().optional(),
});

export type BackboneRecord = z.infer<typeof recordSchema>;

/** A stored record that does not parse: not the caller's mistake, so its own type. */
export class BackboneRecordError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'BackboneRecordError';
  }
}

/** Parses a stored record; an error names the key and every bad field. */
export function parseBackboneRecord(key: string, value: unknown): BackboneRecord {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
    throw new BackboneRecordError(`backbone record ${key} is malformed: ${problems}`);
  }
  return parsed.data;
}

export interface AddBackboneOptions {
  license?: string;
  notes?: string;
  scaling?: Scaling;
  cutLayer?: string;
  addedBy: string;
  now?: () => Date;
}

/** Remembers what a reader returned, so the files hashed and checked are the files stored. */
function memoReader(reader: ModelReader): ModelReader & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    ...reader,
    files,
    readBytes: async (rel) => {
      const known = files.get(rel);
      if (known) return known;
      const bytes = await reader.readBytes(rel);
      files.set(rel, bytes);
      return bytes;
    },
  };
}

/**
 * Stores the model at `source` (path, s3:// or http(s) URL) once under its hash and records it
 * as `name`. Scaling must be recorded in the model (userDefinedMetadata.scaling) or given:
 * a registered backbone never guesses it. Adding the same model under the same name again
 * is a no-op (retries are safe); a name that already means another model is refused.
 */
export async function addBackbone(store: ArtifactStore, name: string, source: string, opts: AddBackboneOptions): Promise<{ record: BackboneRecord; created: boolean }> {
  validBackboneName(name);
  const reader = memoReader(readerForSource(source, store));
  const { artifacts } = await readModelArtifacts(reader); // validates and hashes; fills the memo
  const metadataScaling = (artifacts.userDefinedMetadata as { scaling?: unknown } | undefined)?.scaling;
  if (!opts.scaling && metadataScaling === undefined) {
    throw new BackboneRegistryError(
      `model ${reader.describe} does not record its input scaling (userDefinedMetadata.scaling): pass --scaling ${SCALINGS.join('|')} (minus1to1 = x/127.5 − 1, zeroTo1 = x/255)`,
    );
  }
  const backbone = await loadBackboneFrom(reader, { source, scaling: opts.scaling, cutLayer: opts.cutLayer });
  const { spec } = backbone;
  const parameters = backbone.full.countParams();
  backbone.full.dispose();
  const modelKey = backboneKeys.model(spec.sha256);

  const existing = await readBackboneIfAny(store, name);
  if (existing) {
    if (existing.sha256 === spec.sha256) return { record: existing, created: false };
    throw new BackboneRegistryError(`backbone ${name} already exists as another model (sha256 ${existing.sha256.slice(0, 12)}…, added from ${existing.addedFrom}): remove it first or pick another name`);
  }

  const bytes = await storeModelFiles(store, modelKey, reader);
  const record: BackboneRecord = parseBackboneRecord(backboneKeys.record(name), {
    name,
    sha256: spec.sha256,
    modelKey,
    addedFrom: source,
    addedAt: (opts.now ?? (() => new Date()))().toISOString(),
    addedBy: opts.addedBy,
    inputSize: spec.inputSize,
    channels: spec.channels,
    scaling: spec.scaling,
    scalingFrom: opts.scaling ? 'flag' : 'model',
    cutLayer: spec.cutLayer,
    cutLayerFrom: opts.cutLayer ? 'flag' : 'model',
    featureDim: spec.featureDim,
    parameters,
    bytes,
    license: opts.license?.trim() || 'unspecified',
    ...(opts.notes ? { notes: opts.notes } : {}),
  });
  try {
    await store.putJsonIf(backboneKeys.record(name), record, { ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    // Someone added the name meanwhile: fine if it is the same model.
    const winner = await readBackbone(store, name);
    if (winner.sha256 === record.sha256) return { record: winner, created: false };
    throw new BackboneRegistryError(`backbone ${name} was just added as another model (sha256 ${winner.sha256.slice(0, 12)}…)`);
  }
  return { record, created: true };
}

/** Copies model.json and its weight files under `prefix`, unless a copy is already there. */
async function storeModelFiles(store: ArtifactStore, prefix: string, reader: ModelReader & { files: Map<string, Uint8Array> }): Promise<number> {
  const jsonName = reader.modelJson ?? 'model.json';
  const json = (await reader.readJson(jsonName)) as ModelJson;
  const weightFiles = json.weightsManifest.flatMap((g) => g.paths.map((p) => confineWeightsPath(reader.describe, p)));
  const bytes = weightFiles.reduce((n, rel) => n + (reader.files.get(rel)?.byteLength ?? 0), 0);
  // model.json is written last: its presence means the copy is whole.
  if (await store.head(`${prefix}/model.json`)) return bytes;
  for (const rel of weightFiles) await store.putBytes(`${prefix}/${rel}`, await reader.readBytes(rel));
  await store.putJson(`${prefix}/model.json`, json);
  return bytes;
}

async function readBackboneIfAny(store: ArtifactStore, name: string): Promise<BackboneRecord | undefined> {
  const key = backboneKeys.record(name);
  const found = await store.getJsonVersion(key, z.unknown());
  return found ? parseBackboneRecord(key, found.value) : undefined;
}

export async function readBackbone(store: ArtifactStore, name: string): Promise<BackboneRecord> {
  const record = await readBackboneIfAny(store, name);
  if (!record) {
    const known = await listBackboneNames(store);
    throw new BackboneRegistryError(`no backbone named ${JSON.stringify(name)}${known.length ? ` (known: ${known.join(', ')})` : ''}: add one with \`tl backbones add ${name} <path|s3://…|url>\``);
  }
  return record;
}

export async function listBackboneNames(store: ArtifactStore): Promise<string[]> {
  const keys = await store.list(backboneKeys.names);
  return keys
    .map((k) => k.slice(backboneKeys.names.length))
    .filter((k) => k.endsWith('.json'))
    .map((k) => k.slice(0, -'.json'.length))
    .sort();
}

export async function listBackbones(store: ArtifactStore): Promise<BackboneRecord[]> {
  return Promise.all((await listBackboneNames(store)).map((n) => readBackbone(store, n)));
}

/**
 * Removes a name; the stored model goes too once no other name refers to it. Models that runs
 * already trained keep their own copy of the body, so they still load.
 */
export async function removeBackbone(store: ArtifactStore, name: string): Promise<{ record: BackboneRecord; modelDeleted: boolean }> {
  const record = await readBackbone(store, name);
  await store.delete(backboneKeys.record(name));
  const stillUsed = (await listBackbones(store)).some((r) => r.sha256 === record.sha256);
  if (stillUsed) return { record, modelDeleted: false };
  // model.json first, so a half-deleted copy never looks whole (storeModelFiles checks it).
  await store.delete(`${record.modelKey}/model.json`).catch((err) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
  for (const key of await store.list(`${record.modelKey}/`)) await store.delete(key);
  return { record, modelDeleted: true };
}

/** Where a worker loads a named backbone from, and the record's choices for it. */
export function backboneSource(store: ArtifactStore, record: BackboneRecord): string {
  return store.s3Url(record.modelKey);
}
