// The model registry in S3: per model name, an append-only history of events and a pointer
// to the current champion.
//
//   registry/<name>/events/<seq>.json   one object per event, created with If-None-Match: *
//   registry/<name>/champion.json       the current champion (rewritten with If-Match after each event)
//
// The events are the truth. Writer N+1 creates events/<N+1>.json only if nobody has: when two
// writers race for the same number exactly one wins; the loser re-reads the history and tries
// again with the next number, so no update is lost. champion.json only ever moves forward
// (it carries the seq it reflects), and a reader that needs the truth replays the events.
import { randomBytes } from 'node:crypto';
import { ArtifactStore, InvalidKeyError, NotFoundError, PreconditionFailedError, artifactKey } from './store';
import { z } from 'zod';
import { type PromotionDecision, runKeys } from '../../contracts';
import { BadInputError } from '../errors';

/** A model version the registry can point at: a run's chosen model and how it scored. */
export interface ModelEntry {
  runId: string;
  pipeline: 'lab-cnn' | 'transfer';
  /** `runs/<id>/model/model.json`: loadable like any run's model (`tl predict --model <run id>`). */
  modelKey: string;
  classNames: string[];
  /** The held-out set the metrics were measured on. */
  heldOut: { manifestKey: string; split: string; count: number };
  metrics: { accuracy: number; macroF1: number };
}

export type EventKind = 'promote' | 'rollback' | 'declined';

export interface RegistryEvent {
  seq: number;
  kind: EventKind;
  at: string;
  by: string;
  reason: string;
  /** The same id on a retried request means the same event: a retry never records twice. */
  requestId: string;
  /** The run the event is about: the one promoted, declined, or rolled back from. */
  subject: ModelEntry;
  /** The champion after the event. */
  champion: ModelEntry | null;
  /** Automatic promotions: both scores, the margin and the rule's verdict. */
  decision?: Omit<PromotionDecision, 'seq'>;
}

export type EventDraft = Pick<RegistryEvent, 'kind' | 'by' | 'reason' | 'subject' | 'decision'>;

export interface RegistryState {
  name: string;
  /** Seq of the last event (0: none yet). */
  seq: number;
  events: RegistryEvent[];
  /** Champions in promotion order, the current one last; a rollback pops the current one. */
  lineage: ModelEntry[];
  champion: ModelEntry | null;
  /** The event that made the current champion champion. */
  championSince: RegistryEvent | null;
}

/** What `champion.json` holds. */
export interface ChampionPointer {
  name: string;
  seq: number;
  champion: ModelEntry | null;
  promotedAt?: string;
  promotedBy?: string;
  reason?: string;
}

const heldOutSchema = z.object({ manifestKey: z.string(), split: z.string(), count: z.number().int().nonnegative() });
const modelEntrySchema: z.ZodType<ModelEntry> = z.object({
  runId: z.string(),
  pipeline: z.enum(['lab-cnn', 'transfer']),
  modelKey: z.string(),
  classNames: z.array(z.string()),
  heldOut: heldOutSchema,
  metrics: z.object({ accuracy: z.number(), macroF1: z.number() }),
});
const decisionSchema: z.ZodType<Omit<PromotionDecision, 'seq'>> = z.object({
  modelName: z.string(),
  promoted: z.boolean(),
  reason: z.string(),
  margin: z.number(),
  heldOut: heldOutSchema,
  challenger: z.object({ runId: z.string(), accuracy: z.number(), macroF1: z.number() }),
  champion: z.object({ runId: z.string(), accuracy: z.number().optional(), macroF1: z.number().optional() }).nullable(),
  comparable: z.boolean(),
});
export const registryEventSchema: z.ZodType<RegistryEvent> = z
  .object({
    seq: z.number().int().positive(),
    kind: z.enum(['promote', 'rollback', 'declined']),
    at: z.string(),
    by: z.string(),
    reason: z.string(),
    requestId: z.string(),
    subject: modelEntrySchema,
    champion: modelEntrySchema.nullable(),
    decision: decisionSchema.optional(),
  })
  .describe('registry event');
export const championPointerSchema: z.ZodType<ChampionPointer> = z
  .object({
    name: z.string(),
    seq: z.number().int().nonnegative(),
    champion: modelEntrySchema.nullable(),
    promotedAt: z.string().optional(),
    promotedBy: z.string().optional(),
    reason: z.string().optional(),
  })
  .describe('champion pointer');

/** The parts of a run's report that make its registry entry, for either pipeline. */
const reportScoresSchema = z
  .union([
    z.object({
      chosen: z.object({ method: z.string(), modelKey: z.string() }),
      dataset: z.object({ classNames: z.array(z.string()), manifestKey: z.string() }),
      methods: z.array(z.object({ method: z.string(), heldOut: z.object({ split: z.string(), count: z.number(), accuracy: z.number(), macroF1: z.number() }) })),
    }),
    z.object({
      artifacts: z.object({ model: z.string() }),
      classNames: z.array(z.string()),
      dataset: z.object({ manifestKey: z.string() }),
      test: z.object({ count: z.number(), accuracy: z.number(), macroF1: z.number() }),
    }),
  ])
  .describe('run report (lab-cnn or transfer)');

export class ModelNameError extends InvalidKeyError {
  constructor(name: string, why: string) {
    super(name, why);
    this.message = `model name ${JSON.stringify(name)} is invalid: ${why}`;
  }
}

/** Unknown model names and runs, and requests the registry's state rules out: the caller's mistake. */
export class RegistryError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Too many writers at once: the write was never made, and trying again later is safe. */
export class RegistryBusyError extends Error {
  constructor(name: string, attempts: number) {
    super(`registry ${name}: gave up after ${attempts} attempts, other writers kept changing it; try again`);
    this.name = 'RegistryBusyError';
  }
}

const REGISTRY = 'registry';
const SEQ_DIGITS = 8;
const MAX_ATTEMPTS = 40;

/** A model name is one key part (letters, digits, . _ = + -), so it names one registry folder. */
export function validModelName(name: string): string {
  const why = 'expected 1-200 letters, digits and . _ = + -, starting with a letter or digit';
  if (name.includes('/')) throw new ModelNameError(name, why);
  try {
    artifactKey(name);
  } catch {
    throw new ModelNameError(name, why);
  }
  return name;
}

/** A model name from free text (a dataset folder name): lower case, other characters become '-'. */
export function sanitizeModelName(text: string, fallback: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9._=+-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 200);
  return name || fallback;
}

export const registryKeys = (name: string) => {
  const prefix = artifactKey(REGISTRY, validModelName(name));
  return {
    prefix,
    events: `${prefix}/events/`,
    event: (seq: number) => `${prefix}/events/${String(seq).padStart(SEQ_DIGITS, '0')}.json`,
    champion: `${prefix}/champion.json`,
  };
};

/** Replays events into the registry's state. */
export function replay(name: string, events: RegistryEvent[]): RegistryState {
  const lineage: ModelEntry[] = [];
  let championSince: RegistryEvent | null = null;
  for (const event of events) {
    if (event.kind === 'promote') lineage.push(event.subject);
    else if (event.kind === 'rollback') lineage.pop();
    if (event.kind !== 'declined') championSince = event;
  }
  const champion = lineage.at(-1) ?? null;
  return { name, seq: events.at(-1)?.seq ?? 0, events, lineage, champion, championSince: champion ? championSince : null };
}

export async function readRegistry(store: ArtifactStore, name: string): Promise<RegistryState> {
  const keys = registryKeys(name);
  const eventKeys = (await store.list(keys.events)).filter((k) => k.endsWith('.json')).sort();
  const events = await Promise.all(eventKeys.map((k) => store.getJson(k, registryEventSchema)));
  return replay(name, events);
}

/** Like readRegistry, but a name with no history is an error naming the known ones. */
export async function readKnownModel(store: ArtifactStore, name: string): Promise<RegistryState> {
  const state = await readRegistry(store, name);
  if (state.seq === 0) {
    const known = await listModelNames(store);
    throw new RegistryError(`no model named ${JSON.stringify(name)} in the registry (${known.length ? `known: ${known.join(', ')}` : 'it is empty'})`);
  }
  return state;
}

export async function listModelNames(store: ArtifactStore): Promise<string[]> {
  const names = new Set<string>();
  for (const key of await store.list(`${REGISTRY}/`)) {
    const [, name, folder] = key.split('/');
    if (name && folder === 'events') names.add(name);
  }
  return [...names].sort();
}

/**
 * Appends one event. `plan` sees the latest state and returns the event to record (or throws
 * to refuse); when another writer got there first, the state is read again and `plan` runs
 * again on it. A request already recorded under `requestId` is returned as it was.
 */
export async function commitEvent(
  store: ArtifactStore,
  name: string,
  requestId: string,
  plan: (state: RegistryState) => Promise<EventDraft> | EventDraft,
): Promise<{ event: RegistryEvent; state: RegistryState }> {
  const keys = registryKeys(name);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const state = await readRegistry(store, name);
    const recorded = state.events.find((e) => e.requestId === requestId);
    if (recorded) return { event: recorded, state };
    const draft = await plan(state);
    const seq = state.seq + 1;
    const after = replay(name, [...state.events, { ...draft, seq, at: '', requestId, champion: null }]);
    const event: RegistryEvent = { ...draft, seq, at: new Date().toISOString(), requestId, champion: after.champion };
    try {
      await store.putJsonIf(keys.event(seq), event, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await jitter(attempt);
      continue; // someone else took this seq (or our own write's reply was lost: the next read finds it)
    }
    const newState = replay(name, [...state.events, event]);
    await publishChampion(store, newState);
    return { event, state: newState };
  }
  throw new RegistryBusyError(name, MAX_ATTEMPTS);
}

/** Moves champion.json forward to `state` (never back: a slower writer's older view is dropped). */
export async function publishChampion(store: ArtifactStore, state: RegistryState): Promise<void> {
  const key = registryKeys(state.name).champion;
  const since = state.championSince;
  const pointer: ChampionPointer = {
    name: state.name,
    seq: state.seq,
    champion: state.champion,
    promotedAt: since?.at,
    promotedBy: since?.by,
    reason: since?.reason,
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await store.getJsonVersion(key, championPointerSchema);
    if (current && current.value.seq >= state.seq) return;
    try {
      await store.putJsonIf(key, pointer, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await jitter(attempt);
    }
  }
  throw new RegistryBusyError(state.name, MAX_ATTEMPTS);
}

export async function readChampionPointer(store: ArtifactStore, name: string): Promise<ChampionPointer | undefined> {
  return (await store.getJsonVersion(registryKeys(name).champion, championPointerSchema))?.value;
}

/** A fresh request id, for requests that are not retried (each CLI call is its own request). */
export function newRequestId(kind: string): string {
  return `${kind}:${new Date().toISOString()}:${randomBytes(4).toString('hex')}`;
}

/** Short random waits spread racing writers apart. */
function jitter(attempt: number): Promise<void> {
  const ms = Math.min(200, 10 * attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A finished run's chosen model and held-out scores, read from the report its evaluation stored. */
export async function entryFromReport(store: ArtifactStore, runId: string): Promise<ModelEntry> {
  let key: string;
  try {
    key = runKeys(artifactKey(runId)).reportJson;
  } catch {
    throw new RegistryError(`run id ${JSON.stringify(runId)} is invalid`);
  }
  const report = await store.getJson(key, reportScoresSchema).catch((err) => {
    if (err instanceof NotFoundError) throw new RegistryError(`run ${runId} has no report: it does not exist or has not finished`);
    throw err;
  });
  if ('chosen' in report) {
    const chosen = report.methods.find((m) => m.method === report.chosen.method);
    if (!chosen) throw new RegistryError(`run ${runId}: its report names no scores for the chosen method ${report.chosen.method}`);
    return {
      runId,
      pipeline: 'transfer',
      modelKey: report.chosen.modelKey,
      classNames: report.dataset.classNames,
      heldOut: { manifestKey: report.dataset.manifestKey, split: chosen.heldOut.split, count: chosen.heldOut.count },
      metrics: { accuracy: chosen.heldOut.accuracy, macroF1: chosen.heldOut.macroF1 },
    };
  }
  return {
    runId,
    pipeline: 'lab-cnn',
    modelKey: report.artifacts.model,
    classNames: report.classNames,
    heldOut: { manifestKey: report.dataset.manifestKey, split: 'test', count: report.test.count },
    metrics: { accuracy: report.test.accuracy, macroF1: report.test.macroF1 },
  };
}
