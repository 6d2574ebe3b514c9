export { InfernetError, errorCodeOf, errorMessageOf, httpStatusOf, relayedHttpStatusOf, exitCodeOf, exitCodeOfCode, EXIT_CODES, type InfernetErrorOptions } from './infernet-error.js';
