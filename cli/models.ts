// `tl models list | show | promote | rollback`: the model registry (lib/store/registry.ts).
import type { Config } from '../lib/config';
import {
  RegistryError,
  commitEvent,
  entryFromReport,
  listModelNames,
  newRequestId,
  readKnownModel,
  readRegistry,
  validModelName,
  type ModelEntry,
  type RegistryEvent,
  type RegistryState,
} from '../lib/store/registry';
import type { ArtifactStore } from '../lib/store/store';
import { connectStore } from './connect';
import { asUsageErrors, CliError, EXIT } from './errors';
import { currentUser } from './system';

export interface ModelSummary {
  name: string;
  champion: string | null;
  accuracy?: number;
  macroF1?: number;
  since?: string;
  by?: string;
  events: number;
}

export interface HistoryRow {
  seq: number;
  kind: RegistryEvent['kind'];
  at: string;
  by: string;
  reason: string;
  runId: string;
  accuracy: number;
  macroF1: number;
  championAfter: string | null;
}

export interface ModelDetail {
  name: string;
  champion: (ModelEntry & { modelUrl: string; promotedAt: string; promotedBy: string; reason: string }) | null;
  history: HistoryRow[];
}

/** Registry refusals and unknown names are the caller's to fix: usage exit code. */
const registryCall = <T>(body: () => Promise<T>): Promise<T> => asUsageErrors((e) => e instanceof RegistryError || e.name === 'InvalidKeyError', body);

function checkedName(name: string): string {
  try {
    return validModelName(name);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

export async function listModels(config: Config): Promise<ModelSummary[]> {
  const store = await connectStore(config);
  const states = await Promise.all((await listModelNames(store)).map((name) => readRegistry(store, name)));
  return states.map((s) => ({
    name: s.name,
    champion: s.champion?.runId ?? null,
    accuracy: s.champion?.metrics.accuracy,
    macroF1: s.champion?.metrics.macroF1,
    since: s.championSince?.at,
    by: s.championSince?.by,
    events: s.events.length,
  }));
}

function detail(store: ArtifactStore, state: RegistryState): ModelDetail {
  const since = state.championSince;
  return {
    name: state.name,
    champion:
      state.champion && since
        ? { ...state.champion, modelUrl: store.s3Url(state.champion.modelKey), promotedAt: since.at, promotedBy: since.by, reason: since.reason }
        : null,
    history: state.events.map((e) => ({
      seq: e.seq,
      kind: e.kind,
      at: e.at,
      by: e.by,
      reason: e.reason,
      runId: e.subject.runId,
      accuracy: e.subject.metrics.accuracy,
      macroF1: e.subject.metrics.macroF1,
      championAfter: e.champion?.runId ?? null,
    })),
  };
}

export async function showModel(config: Config, name: string): Promise<ModelDetail> {
  checkedName(name);
  const store = await connectStore(config);
  return detail(store, await registryCall(() => readKnownModel(store, name)));
}

/** Makes a finished run the champion by hand; other class names than the champion's need `force`. */
export async function promoteRun(config: Config, name: string, runId: string, opts: { reason?: string; force?: boolean }): Promise<ModelDetail> {
  checkedName(name);
  const store = await connectStore(config);
  return registryCall(async () => {
    const entry = await entryFromReport(store, runId);
    const { state } = await commitEvent(store, name, newRequestId('promote'), ({ champion }) => {
      if (champion?.runId === runId) throw new RegistryError(`run ${runId} is already the champion of ${name}`);
      if (champion && champion.classNames.join('\n') !== entry.classNames.join('\n') && !opts.force) {
        throw new RegistryError(
          `run ${runId} predicts [${entry.classNames.join(', ')}], champion ${champion.runId} of ${name} predicts [${champion.classNames.join(', ')}]: not comparable; pass --force to promote anyway`,
        );
      }
      return { kind: 'promote', by: currentUser(), reason: opts.reason ?? 'promoted by hand', subject: entry };
    });
    return detail(store, state);
  });
}

/** Brings back the champion before the current one. */
export async function rollbackModel(config: Config, name: string, opts: { reason?: string }): Promise<ModelDetail> {
  checkedName(name);
  const store = await connectStore(config);
  return registryCall(async () => {
    await readKnownModel(store, name);
    const { state } = await commitEvent(store, name, newRequestId('rollback'), ({ lineage }) => {
      const current = lineage.at(-1);
      const previous = lineage.at(-2);
      if (!current || !previous) throw new RegistryError(`model ${name} has no earlier champion to roll back to`);
      return { kind: 'rollback', by: currentUser(), reason: opts.reason ?? `rolled back to ${previous.runId}`, subject: current };
    });
    return detail(store, state);
  });
}

const pct = (x?: number) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export function formatModelList(list: ModelSummary[]): string[] {
  if (!list.length) return ['no models yet: a `tl run … --wait` promotes its model when the name has no champion'];
  return list.map((m) => `${m.name.padEnd(32)} ${(m.champion ?? '(no champion)').padEnd(40)} ${pct(m.accuracy).padStart(7)}  ${m.since ?? ''}  ${m.events} events`);
}

export function formatModelDetail(d: ModelDetail): string[] {
  const lines = [`model ${d.name}`];
  if (d.champion) {
    const c = d.champion;
    lines.push(
      `champion: ${c.runId} (${c.pipeline}) accuracy ${pct(c.metrics.accuracy)}, macro F1 ${c.metrics.macroF1.toFixed(4)} on ${c.heldOut.split} (${c.heldOut.count} images)`,
      `  promoted ${c.promotedAt} by ${c.promotedBy}: ${c.reason}`,
      `  model ${c.modelUrl}`,
    );
  } else lines.push('champion: none');
  lines.push('history:');
  for (const e of d.history) {
    lines.push(`  #${e.seq} ${e.at} ${e.kind.padEnd(8)} ${e.runId} ${pct(e.accuracy)} by ${e.by}: ${e.reason}`);
  }
  return lines;
}
