// The aggregator role: matches a client's job to a provider (ranked by price, load and reputation), relays the
// sealed spec and the signed result, fails a lost provider's job over to another, witnesses verification verdicts
// and decides what is paid.
export { AggregatorService, type AggregatorServiceOptions, type ProviderLoad } from './aggregator-service.js';
export { rankProviders, runsJobKind, type ProviderCandidate, type JobRequirements } from './provider-selection.js';
