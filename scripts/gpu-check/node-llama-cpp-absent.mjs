// What the GPU check's bundle (scripts/gpu-check.sh prepare) has in place of node-llama-cpp: its native addon does
// not travel to the GPU machine, and the check runs llama.cpp only through llama-server. The names the project
// imports exist so the bundle links (esbuild fails the bundle if src/ comes to import another one); each throws if used.
const absent = (name) =>
  function () {
    throw new Error(`node-llama-cpp (${name}) is not in the GPU check's bundle: it runs llama.cpp through llama-server only`);
  };
export const getLlama = absent('getLlama');
export const readGgufFileInfo = absent('readGgufFileInfo');
export const resolveChatWrapper = absent('resolveChatWrapper');
export const LlamaGrammarEvaluationState = absent('LlamaGrammarEvaluationState');
export const LlamaText = absent('LlamaText');
export const TokenBias = absent('TokenBias');
export const LlamaLogLevel = { error: 'error', warn: 'warn', info: 'info', debug: 'debug' };
