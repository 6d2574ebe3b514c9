// Every refusal the HTTP API sends, in OpenAI's error shape, so that clients written for OpenAI (and the official
// SDKs, which pick their exception class by status and read `code`) handle Infernet's errors without changes.
import { InfernetError } from '../errors/index.js';
import { ERROR_CODES, type ErrorCode } from '../protocol/index.js';

export type ApiErrorType = 'invalid_request_error' | 'server_error';

/** The body OpenAI sends with every non-2xx response, and inside a stream's error event. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/**
 * A refusal in the API's own terms: `status` is the HTTP answer (it stays authoritative: httpStatusOf returns it),
 * `apiCode` the `code` of OpenAI's body. Its wire code is the protocol's name for the same failure, for whatever
 * reports it outside HTTP.
 */
export class ApiError extends InfernetError {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly apiCode: string | null,
    message: string,
    readonly param: string | null = null,
    options?: { cause?: unknown; wireCode?: ErrorCode },
  ) {
    const { wireCode, ...rest } = options ?? {};
    super(wireCode ?? wireCodeOfApiError(status, apiCode), message, { ...rest, httpStatus: status });
  }

  get type(): ApiErrorType {
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.apiCode } };
  }
}

/** The API's own codes that mean a wire code under another name. */
const WIRE_CODE_OF_API_CODE: Readonly<Record<string, ErrorCode>> = {
  invalid_api_key: 'auth_failed',
  model_not_found: 'model_unavailable',
  request_too_large: 'frame_too_large',
  unknown_url: 'unknown_type',
  method_not_allowed: 'unknown_type',
  file_not_found: 'job_not_found',
  batch_not_found: 'job_not_found',
  not_found: 'job_not_found',
  previous_response_not_found: 'job_not_found',
  // The network did not answer: the aggregator is not reachable, or a job's session closed under it.
  no_aggregator: 'provider_unreachable',
  models_unavailable: 'provider_unreachable',
  closed: 'provider_unreachable',
  bad_result: 'engine_failed',
};

/** What an HTTP status means where the API's code names no wire code: the request's fault below 500, else ours. */
const WIRE_CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'unauthenticated',
  403: 'grant_refused',
  404: 'job_not_found',
  409: 'duplicate_job',
  413: 'frame_too_large',
  429: 'rate_limited',
  502: 'engine_failed',
  503: 'no_provider',
  504: 'deadline_exceeded',
};

/** The wire code of an API refusal: its API code where that is a wire code (a job's failure relayed), or what it means. */
export function wireCodeOfApiError(status: number, apiCode: string | null): ErrorCode {
  if (apiCode !== null && Object.hasOwn(ERROR_CODES, apiCode)) return apiCode as ErrorCode;
  if (apiCode !== null && Object.hasOwn(WIRE_CODE_OF_API_CODE, apiCode)) return WIRE_CODE_OF_API_CODE[apiCode]!;
  return WIRE_CODE_OF_STATUS[status] ?? (status < 500 ? 'invalid_frame' : 'internal');
}

/** A request with no API key is unauthenticated; one with a wrong key failed authentication (both 401 to the client). */
export const invalidApiKey = (message: string, wireCode: 'unauthenticated' | 'auth_failed' = 'auth_failed') => new ApiError(401, 'invalid_api_key', message, null, { wireCode });
export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new ApiError(400, code, message, param);
export const modelNotFound = (model: string) =>
  new ApiError(404, 'model_not_found', `The model \`${model}\` is not served by any provider connected now (GET /v1/models lists those that are).`, 'model');
export const networkUnavailable = (code: string, message: string, options?: { cause?: unknown }) => new ApiError(503, code, message, null, options);
