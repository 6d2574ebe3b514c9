import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, badRequest, invalidApiKey, modelNotFound, networkUnavailable } from '../api/api-error.js';
import { ConfigError } from '../config/node-config.js';
import { TunnelRefusedError } from '../distributed/tunnel/tunnel-handshake.js';
import { InsufficientBalanceError, nwcWalletError, NwcWalletError, QuotaExceededError, RateLimitedError } from '../payments/nwc/nwc-errors.js';
import { ERROR_CODE_NAMES, PairingLinkError, parsePairingLink } from '../protocol/index.js';
import { SessionRejectedError } from '../transport/errors.js';
import type { ErrorCode } from '../protocol/index.js';
import { EXIT_CODES, errorCodeOf, errorMessageOf, exitCodeOf, httpStatusOf, InfernetError, relayedHttpStatusOf } from './index.js';
import { JobFailedError } from '../client/job-client.js';
import { NetTestFailedError } from '../network-test/measure-link.js';

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
    assert.equal(exitCodeOf(error), EXIT_CODES.failure);
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

  it('exits 1 on any failure, 130 when the user stopped the job, or the status an error names for itself', () => {
    assert.equal(exitCodeOf(new InfernetError('no_provider', 'x')), 1);
    assert.equal(exitCodeOf(new InfernetError('cancelled', 'x')), 130);
    assert.equal(exitCodeOf(new InfernetError('internal', 'unknown subcommand', { exitCode: EXIT_CODES.usage })), 2);
  });

  it('relays a job the network failed as 503, 404 or 504 when it could not serve it, else as 502 Bad Gateway', () => {
    assert.deepEqual(
      (['no_provider', 'busy', 'provider_unreachable', 'model_unavailable', 'deadline_exceeded', 'engine_failed', 'payment_failed', 'internal'] as const).map(relayedHttpStatusOf),
      [503, 503, 503, 404, 504, 502, 502, 502],
    );
  });
});

describe('the error classes that extend InfernetError', () => {
  const pairingLinkError = (() => {
    try {
      parsePairingLink('https://example.com');
    } catch (error) {
      return error;
    }
    return undefined;
  })();
  // [the error, its class, the wire code it reports, the HTTP status an API answers it with]
  const table: ReadonlyArray<[unknown, abstract new (...args: never[]) => Error, ErrorCode, number]> = [
    [new ConfigError('config.yaml: node.role: invalid'), ConfigError, 'internal', 500],
    [pairingLinkError, PairingLinkError, 'invalid_frame', 400],
    [badRequest("Invalid 'messages'", 'messages'), ApiError, 'invalid_frame', 400],
    [invalidApiKey('no key', 'unauthenticated'), ApiError, 'unauthenticated', 401],
    [invalidApiKey('Incorrect API key provided.'), ApiError, 'auth_failed', 401],
    [modelNotFound('m'), ApiError, 'model_unavailable', 404],
    [new ApiError(405, 'method_not_allowed', 'PUT is not allowed'), ApiError, 'unknown_type', 405],
    [new ApiError(413, 'request_too_large', 'too large'), ApiError, 'frame_too_large', 413],
    [networkUnavailable('no_provider', 'none'), ApiError, 'no_provider', 503],
    [networkUnavailable('no_aggregator', 'none'), ApiError, 'provider_unreachable', 503],
    [new ApiError(503, 'closed', 'the session closed'), ApiError, 'provider_unreachable', 503],
    [new ApiError(502, 'engine_failed', 'the engine failed'), ApiError, 'engine_failed', 502],
    [new ApiError(500, 'internal', 'Internal error: x'), ApiError, 'internal', 500],
    [new SessionRejectedError('auth_failed', 'bad event'), SessionRejectedError, 'auth_failed', 401],
    [new SessionRejectedError('unsupported_version', 'no common protocol version'), SessionRejectedError, 'unsupported_version', 400],
    [new SessionRejectedError('closed', 'socket closed'), SessionRejectedError, 'provider_unreachable', 503],
    [new TunnelRefusedError('unauthenticated', 'tunnel authentication failed'), TunnelRefusedError, 'auth_failed', 401],
    [new TunnelRefusedError('not_allowed', 'another head'), TunnelRefusedError, 'grant_refused', 403],
    [new TunnelRefusedError('unknown_job', 'no stage'), TunnelRefusedError, 'job_not_found', 404],
    [new TunnelRefusedError('busy', 'all stages in use'), TunnelRefusedError, 'busy', 503],
    [new TunnelRefusedError('limit_exceeded', 'over the limit'), TunnelRefusedError, 'rate_limited', 429],
    [new TunnelRefusedError('stage_failed', 'rpc server died'), TunnelRefusedError, 'engine_failed', 502],
    [new TunnelRefusedError('unsupported_version', 'version 9'), TunnelRefusedError, 'unsupported_version', 400],
    [nwcWalletError('RATE_LIMITED', 'slow down', 'pay_invoice'), RateLimitedError, 'rate_limited', 429],
    [nwcWalletError('INSUFFICIENT_BALANCE', 'empty', 'pay_invoice'), InsufficientBalanceError, 'payment_failed', 402],
    [nwcWalletError('QUOTA_EXCEEDED', 'over budget', 'pay_invoice'), QuotaExceededError, 'payment_failed', 402],
    [nwcWalletError('SOMETHING_NEW', 'what', 'get_info'), NwcWalletError, 'payment_failed', 402],
    [new JobFailedError('job-1', 'closed', 'the aggregator session closed'), JobFailedError, 'provider_unreachable', 503],
    [new JobFailedError('job-1', 'no_provider', 'no provider serves it'), JobFailedError, 'no_provider', 503],
    [new NetTestFailedError('timeout', 'no answer'), NetTestFailedError, 'provider_unreachable', 503],
    [new NetTestFailedError('invalid_frame', 'the peer refused'), NetTestFailedError, 'invalid_frame', 400],
  ];

  for (const [error, errorClass, code, status] of table) {
    it(`${errorClass.name} ${(error as Error).message.slice(0, 40)}: ${code}, HTTP ${status}, exit 1`, () => {
      assert.ok(error instanceof errorClass);
      assert.ok(error instanceof InfernetError);
      assert.equal(error.name, errorClass.name);
      assert.equal(error.code, code);
      assert.equal(errorCodeOf(error), code);
      assert.equal(httpStatusOf(error), status);
      assert.equal(exitCodeOf(error), EXIT_CODES.failure);
    });
  }

  it("keeps each class's own code under its own name: the API's, the peer's, the tunnel's and the wallet's", () => {
    const api = new ApiError(404, 'file_not_found', 'No file f', 'input_file_id');
    assert.deepEqual([api.apiCode, api.code, api.toBody().error.code], ['file_not_found', 'job_not_found', 'file_not_found']);
    assert.equal(new SessionRejectedError('closed', 'gone').peerCode, 'closed');
    assert.equal(new TunnelRefusedError('not_allowed', 'no').refusal, 'not_allowed');
    const wallet = nwcWalletError('QUOTA_EXCEEDED', 'over budget', 'pay_invoice');
    assert.deepEqual([wallet.walletCode, wallet.message], ['QUOTA_EXCEEDED', 'the wallet refused pay_invoice: QUOTA_EXCEEDED: over budget']);
    assert.equal(new JobFailedError('job-1', 'closed', 'gone').reason, 'closed');
    assert.equal(new NetTestFailedError('timeout', 'late').reason, 'timeout');
  });
});
