package migrations

// An aggregator's record of a client job under a verification policy keeps what its checks may be
// (src/aggregator/checked-jobs.ts): the client, model and policy a check must match, the providers already used,
// how many checks were admitted and whether the client withdrew one. Persisted, so a restarted aggregator
// neither refuses an honest client's checks nor forgets a withdrawn one. Null for every other job.
func init() {
	registerJSONFieldAdded("jobs", "checks")
}
