export { InfernetError, errorCodeOf, errorMessageOf, httpStatusOf, exitCodeOf, EXIT_CODES } from './infernet-error.js';
