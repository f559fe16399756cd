// Activity: champion/challenger. Scores the run's chosen model and the model name's current
// champion on the run's own held-out set, applies the promotion rule (lib/store/promotion.ts) and
// records the verdict in the registry (lib/store/registry.ts), promoted or not.
// A retried attempt finds its verdict already recorded (request id `auto:<run id>`) and returns it;
// a missing report or a refused request (RegistryError) fails for good (workers/bad-input.ts).
import type { PromoteInput, PromotionDecision } from '../contracts';
import type { ActivityDeps } from './deps';
import { loadManifest } from '../lib/data/dataset';
import { openSplitForScoring } from '../lib/data/shard-reader';
import { decidePromotion } from '../lib/store/promotion';
import { commitEvent, entryFromReport, validModelName, type ModelEntry } from '../lib/store/registry';
import { scoreStoredModel, type HeldOutResult } from '../lib/models/score';
import { heartbeatProgress } from './progress';


const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function promoteActivity(deps: ActivityDeps) {
  return async function promoteModel(input: PromoteInput): Promise<PromotionDecision> {
    const { store, config } = deps();
    const modelName = validModelName(input.modelName);
    const challenger = await entryFromReport(store, input.runId);
    const manifest = await loadManifest(store, challenger.heldOut.manifestKey);
    // Read shard by shard as each model is scored; shards cached while scoring one serve the next.
    const data = openSplitForScoring(store, manifest, challenger.heldOut.split, config.shardCacheBytes);
    heartbeatProgress({ step: 'promote', message: `opened held-out split ${challenger.heldOut.split}` });

    // Scores by run id: a writer that lost a race re-plans without scoring the same champion twice.
    const scores = new Map<string, HeldOutResult>();
    const score = async (entry: ModelEntry): Promise<HeldOutResult> => {
      if (!scores.has(entry.runId)) {
        const result = sameList(entry.classNames, manifest.classNames)
          ? await scoreStoredModel(store, entry.modelKey, data, manifest.classNames)
          : { notComparable: `its classes [${entry.classNames.join(', ')}] are not this held-out set's [${manifest.classNames.join(', ')}]` };
        scores.set(entry.runId, result);
        heartbeatProgress({ step: 'promote', message: `scored ${entry.runId}` });
      }
      return scores.get(entry.runId)!;
    };

    const own = await score(challenger);
    if ('notComparable' in own) throw new Error(`run ${input.runId}'s model cannot be scored on its own held-out set: ${own.notComparable}`);
    const subject: ModelEntry = { ...challenger, metrics: own };

    const { event } = await commitEvent(store, modelName, `auto:${input.runId}`, async (state) => {
      const champ = state.champion;
      const champScore = champ && champ.runId !== input.runId ? await score(champ) : undefined;
      const notComparable = champScore && 'notComparable' in champScore ? champScore.notComparable : undefined;
      const champMetrics = champScore && !('notComparable' in champScore) ? champScore : champ?.metrics;
      const verdict = decidePromotion({
        challenger: { runId: input.runId, ...own },
        champion: champ && champMetrics ? { runId: champ.runId, ...champMetrics } : undefined,
        notComparable,
        margin: input.margin,
      });
      const otherData = champ && !notComparable && champ.heldOut.manifestKey !== challenger.heldOut.manifestKey;
      const reason = otherData ? `${verdict.reason} (the champion was trained on another dataset; both scored on this run's held-out set)` : verdict.reason;
      const decision: Omit<PromotionDecision, 'seq'> = {
        modelName,
        promoted: verdict.promoted,
        reason,
        margin: input.margin,
        heldOut: challenger.heldOut,
        challenger: { runId: input.runId, ...own },
        champion: champ ? { runId: champ.runId, ...(notComparable ? {} : champMetrics) } : null,
        comparable: !notComparable,
      };
      return { kind: verdict.promoted ? 'promote' : 'declined', by: input.requestedBy, reason, subject, decision };
    });
    if (!event.decision) throw new Error(`registry ${modelName}: event ${event.seq} for run ${input.runId} holds no decision`);
    return { ...event.decision, seq: event.seq };
  };
}
