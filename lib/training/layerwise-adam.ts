// Adam with a learning rate per group of variables ("discriminative" learning rates): the
// layers nearest the output learn at the full rate, deeper ones at a fraction of it, so
// fine-tuning adapts the task-specific top more than the general-purpose features below.
// Adam's steps do not scale with the gradients, so this needs one Adam per group, not
// scaled gradients. Checkpoints keep each group's state under a `g<i>/` prefix.
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };

export class LayerwiseAdam extends tf.Optimizer {
  static className = 'LayerwiseAdam';
  private base: number;
  private readonly groups: { factor: number; optimizer: tf.AdamOptimizer }[];

  /** `groupOf` maps a variable's name to an index into `factors` (the rate multipliers). */
  constructor(learningRate: number, private readonly factors: number[], private readonly groupOf: (variable: string) => number) {
    super();
    this.base = learningRate;
    this.groups = factors.map((factor) => ({ factor, optimizer: tf.train.adam(learningRate * factor) }));
  }

  /** Read and assigned by lib/training/epochs.ts's schedules, as on tfjs's own optimizers. */
  get learningRate(): number {
    return this.base;
  }

  set learningRate(value: number) {
    this.base = value;
    for (const g of this.groups) (g.optimizer as unknown as { learningRate: number }).learningRate = value * g.factor;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const byGroup = this.groups.map(() => [] as NamedTensor[]);
    for (const g of named) byGroup[this.groupOf(g.name)].push(g);
    byGroup.forEach((grads, i) => grads.length && this.groups[i].optimizer.applyGradients(grads));
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const all: NamedTensor[] = [];
    for (const [i, g] of this.groups.entries()) all.push(...(await g.optimizer.getWeights()).map((w) => ({ name: `g${i}/${w.name}`, tensor: w.tensor })));
    return all;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    for (const [i, g] of this.groups.entries()) {
      const prefix = `g${i}/`;
      const mine = weightValues.filter((w) => w.name.startsWith(prefix)).map((w) => ({ name: w.name.slice(prefix.length), tensor: w.tensor }));
      if (mine.length) await g.optimizer.setWeights(mine);
    }
  }

  override dispose(): void {
    for (const g of this.groups) g.optimizer.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.base, factors: this.factors };
  }
}
