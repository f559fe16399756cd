// Every workflow the workers serve.
export { trainLabCnn } from './train-lab-cnn';
export { transferLearning } from './transfer-learning';
export { hashPages, ingestShards, extractShards } from './shard-steps';
