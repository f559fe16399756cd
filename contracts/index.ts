// What crosses process boundaries: workflow inputs and results, activity inputs, signals and
// queries, S3 key layouts, step lists and search attributes. Small JSON only. Nothing here
// imports from the rest of the repository, tfjs, sharp or Node built-ins, so workflows, activities
// and the CLI can all depend on it.
export * from './ingest';
export * from './keys';
export * from './lab-cnn';
export * from './options';
export * from './progress';
export * from './promotion';
export * from './records';
export * from './search-attributes';
export * from './signals';
export * from './steps';
export * from './transfer';
