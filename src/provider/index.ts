// The provider role: offers the models it holds, checks an offer's payment before it fetches, loads or runs
// anything, runs the sealed spec on its engine and streams the signed result.
export { ProviderService, type ProviderServiceOptions } from './provider-service.js';
export { openProviderRuntime, logEngineEvent, type ProviderRuntime, type ProviderEngineState, type EngineChangeListener } from './provider-runtime.js';
