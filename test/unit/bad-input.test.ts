// Bad input fails an activity for good with its own type and message; everything else is retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { asActivityFailure } from '../../workers/bad-input';
import { BadInputError } from '../../lib/errors';
import { ConfigError } from '../../lib/config';
import { IdxFormatError } from '../../lib/data/idx';
import { SourceError } from '../../lib/data/fashion-mnist';
import { ImageSourceError } from '../../lib/data/images/source';
import { ImageFolderError } from '../../lib/data/images/scan';
import { IntegrityError, InvalidKeyError, NotFoundError, PreconditionFailedError } from '../../lib/store/store';
import { ModelNameError, RegistryBusyError, RegistryError } from '../../lib/store/registry';
import { BackboneRecordError, BackboneRegistryError } from '../../lib/store/backbone-registry';
import { ModelFormatError } from '../../lib/tf/model-io';
import { ImageIngestError } from '../../lib/data/images/plan';
import { BackboneHashError } from '../../activities/backbones';

const badInput: Error[] = [
  new ConfigError('TL_X is invalid'),
  new IdxFormatError('train-images', 'truncated'),
  new SourceError('no such folder'),
  new ImageSourceError('no objects'),
  new ImageFolderError('no classes'),
  new IntegrityError('k', 'a', 'b'),
  new NotFoundError('k'),
  new InvalidKeyError('..', 'dots'),
  new ModelNameError('Bad Name', 'spaces'),
  new RegistryError('unknown model'),
  new BackboneRegistryError('unknown backbone'),
  new BackboneRecordError('does not parse'),
  new ModelFormatError('m', 'no topology'),
  new BackboneHashError('backbone b changed during the run'),
  new ImageIngestError('changed while ingested'),
];

test('bad input becomes a non-retryable failure with the same type, message and cause', () => {
  for (const err of badInput) {
    assert.ok(err instanceof BadInputError, err.name);
    const failure = asActivityFailure(err);
    assert.ok(failure instanceof ApplicationFailure, err.name);
    assert.equal(failure.type, err.name);
    assert.equal(failure.message, err.message);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.cause, err);
  }
});

test('subclasses keep the failure type of the class they refine', () => {
  assert.equal(new ModelNameError('Bad Name', 'spaces').name, 'InvalidKeyError');
  const hash = new BackboneHashError('backbone b changed during the run');
  assert.equal(hash.name, 'ModelFormatError');
  assert.equal(hash.message, 'backbone b changed during the run');
});

test('faults and other errors pass through unchanged, to be retried', () => {
  for (const err of [new Error('socket hang up'), new PreconditionFailedError('k'), new RegistryBusyError('m', 5), 'a string']) {
    assert.equal(asActivityFailure(err), err);
  }
});
