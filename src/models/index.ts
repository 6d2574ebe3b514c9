// Models: reading what a GGUF file holds, describing it for planning, and writing random llama models.
export type { MixtureOfExperts, ModelDescriptor, ModelQuantization } from './model-descriptor.js';
export { describeModel, IncompleteModelMetadataError, type DescribeModelReturnType } from './describe-model.js';
export { describeModelFile } from './describe-model-file.js';
export {
  readGgufHeader,
  type GgufArray,
  type GgufHeader,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
  type ReadGgufHeaderParameters,
  type ReadGgufHeaderReturnType,
} from './gguf/read-gguf-header.js';
export {
  BENCHMARK_LLAMA_SHAPE,
  writeRandomLlamaGguf,
  type RandomLlamaShape,
  type RandomTensorType,
  type WriteRandomLlamaGgufParameters,
  type WriteRandomLlamaGgufReturnType,
} from './gguf/write-random-llama-gguf.js';
export { GgufFormatError, InvalidModelShapeError, UnsupportedGgufVersionError } from './gguf/gguf-errors.js';
export { bytesPerWeightOfTypeName, GGML_TYPES, GGUF_FILE_TYPE_NAMES } from './gguf/gguf-constants.js';
export { ModelCatalog, modelNameOf, offersModel, type CatalogEntry } from './model-catalog.js';
