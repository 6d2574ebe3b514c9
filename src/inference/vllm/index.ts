// vLLM behind the engine interface: the engine, the supervised server it talks to, how that server is started (a
// command or the vllm template's container), and its errors. The stand-in server and its test support are not exported.
export { VllmEngine, servedNameOf, type VllmEngineOptions, type VllmEngineStatus } from './vllm-engine.js';
export { VllmServer, vllmCommandLauncher, vllmServeArguments, type LaunchVllmProcess, type VllmCommandLauncherOptions, type VllmProcess, type VllmServerEvent, type VllmServerOptions, type VllmServerStatus } from './vllm-server.js';
export { vllmContainerLauncher, vllmServerContainerSpec, type VllmContainerLauncherOptions } from './vllm-container.js';
export * from './vllm-errors.js';
