// Bad input cannot be fixed by retrying: such errors fail the activity for good,
// keeping their type and message so the CLI can show them in one line.
import { ApplicationFailure } from '@temporalio/common';

const NON_RETRYABLE = new Set([
  'IdxFormatError',
  'SourceError',
  'ConfigError',
  'InvalidKeyError',
  'ModelFormatError',
  'IntegrityError',
  'NotFoundError',
  'ImageSourceError',
  'ImageFolderError',
  'ImageIngestError',
  'RegistryError',
  'BackboneRegistryError',
  'BackboneRecordError',
]);

export const NON_RETRYABLE_ERROR_TYPES = [...NON_RETRYABLE];

/** Runs an activity body, turning bad-input errors into non-retryable failures. */
export async function failFastOnBadInput<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof Error && NON_RETRYABLE.has(err.name)) {
      throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true, cause: err });
    }
    throw err;
  }
}
