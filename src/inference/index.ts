export * from './inference-engine.js';
export { LlamaCppEngine, NODE_LLAMA_CPP_VERSION, type LlamaCppEngineOptions, type LoadedModelPlacement } from './llama-cpp-engine.js';
export { StopSequenceScanner } from './stop-sequences.js';
export { grammarSchemaOf, UnsupportedJsonSchemaError, type JsonSchemaIssue } from './json-schema-grammar.js';
export * from './vllm/index.js';
