// The base of every error that means the input is wrong: a missing or malformed file, an
// invalid key or name, a model that does not load. Retrying cannot fix any of them, so the
// workers fail such activities as non-retryable (workers/bad-input.ts), keeping each subclass's
// `name` as the failure type and its message as is.
export class BadInputError extends Error {}
