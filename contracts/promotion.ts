// Champion/challenger: what a run needs to compete, and the verdict it gets back.
/** What a pipeline needs to compete for champion of a model name. */
export interface PromotionOptions {
  modelName: string;
  /** Accuracy gain over the champion needed to replace it (0.005 = half a point). */
  margin: number;
}

/** A run's promotion step's verdict, returned in the run's result. */
export interface PromotionDecision {
  modelName: string;
  promoted: boolean;
  reason: string;
  margin: number;
  /** The held-out set both models were scored on: the challenger's. */
  heldOut: { manifestKey: string; split: string; count: number };
  challenger: { runId: string; accuracy: number; macroF1: number };
  /** The champion at decision time (scores absent when it could not be compared). */
  champion: { runId: string; accuracy?: number; macroF1?: number } | null;
  comparable: boolean;
  /** The registry event that recorded the decision. */
  seq: number;
}

export interface PromoteInput {
  runId: string;
  modelName: string;
  margin: number;
  /** Who started the run: a user name, or `schedule:<name>`. */
  requestedBy: string;
}

/** What every pipeline run is asked with, besides its options. */
export interface RunRequest {
  /** Compete for champion of this model name after evaluation; absent: no promotion step. */
  promotion?: PromotionOptions;
  /** Who asked for the run: a user name, or `schedule:<name>`; recorded with a promotion. */
  requestedBy?: string;
  /** Least seconds between epoch records in history (default contracts/steps.ts RECORD_EVERY_SECONDS). */
  recordEverySeconds?: number;
}
