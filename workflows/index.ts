// Every workflow the workers serve.
export { trainLabCnn } from './train-lab-cnn';
export { transferLearning } from './transfer-learning';
export { ingestShards, extractShards } from './shard-steps';
