// Every refusal the HTTP API sends, in OpenAI's error shape, so that clients written for OpenAI (and the official
// SDKs, which pick their exception class by status and read `code`) handle Infernet's errors without changes.

export type ApiErrorType = 'invalid_request_error' | 'server_error';

/** The body OpenAI sends with every non-2xx response, and inside a stream's error event. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get type(): ApiErrorType {
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidApiKey = (message: string) => new ApiError(401, 'invalid_api_key', message);
export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new ApiError(400, code, message, param);
export const modelNotFound = (model: string) =>
  new ApiError(404, 'model_not_found', `The model \`${model}\` is not served by any provider connected now (GET /v1/models lists those that are).`, 'model');
export const networkUnavailable = (code: string, message: string, options?: { cause?: unknown }) => new ApiError(503, code, message, null, options);
