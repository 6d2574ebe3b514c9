import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODE_NAMES } from '../protocol/index.js';
import { EXIT_CODES, errorCodeOf, errorMessageOf, exitCodeOf, httpStatusOf, InfernetError } from './index.js';

class ExampleRefusedError extends InfernetError {
  override readonly name = 'ExampleRefusedError';
}

describe('InfernetError', () => {
  it('carries its wire code, message and cause, and keeps its own name', () => {
    const cause = new Error('disk full');
    const error = new ExampleRefusedError('duplicate_job', 'job x is already known here', { cause });
    assert.equal(error.name, 'ExampleRefusedError');
    assert.equal(error.cause, cause);
    assert.equal(errorCodeOf(error), 'duplicate_job');
    assert.equal(httpStatusOf(error), 409);
    assert.equal(exitCodeOf(error), EXIT_CODES.refused);
  });

  it('names anything else internal: 500 over HTTP, exit status 1', () => {
    for (const thrown of [new Error('bug'), 'a string', undefined]) {
      assert.equal(errorCodeOf(thrown), 'internal');
      assert.equal(httpStatusOf(thrown), 500);
      assert.equal(exitCodeOf(thrown), 1);
    }
    assert.equal(errorMessageOf('x'.repeat(10), 4), 'xxxx');
  });

  it('gives every wire code an HTTP error status and a failing exit status', () => {
    for (const code of ERROR_CODE_NAMES) {
      const error = new InfernetError(code, code);
      assert.ok(httpStatusOf(error) >= 400 && httpStatusOf(error) < 600, code);
      assert.ok(exitCodeOf(error) > 0, code);
    }
  });
});
