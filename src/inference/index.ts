export * from './inference-engine.js';
export { LlamaCppEngine, NODE_LLAMA_CPP_VERSION, type LlamaCppEngineOptions, type LoadedModelPlacement } from './llama-cpp-engine.js';
export { StopSequenceScanner } from './stop-sequences.js';
export { grammarSchemaOf, UnsupportedJsonSchemaError, type JsonSchemaIssue } from './json-schema-grammar.js';
export { VllmEngine, servedNameOf, type VllmEngineOptions, type VllmEngineStatus } from './vllm-engine.js';
export { VllmServer, vllmCommandLauncher, vllmServeArguments, type LaunchVllmProcess, type VllmProcess, type VllmServerEvent, type VllmServerOptions, type VllmServerStatus } from './vllm-server.js';
export { vllmContainerLauncher, type VllmContainerLauncherOptions } from './vllm-container.js';
export * from './vllm-errors.js';
