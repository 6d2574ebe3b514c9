package migrations

// A client job keeps each aggregator it went to and how that went (completed, lost mid-job, unreachable, refused):
// the client's own experience, which ranks aggregators for its next jobs (src/client/aggregator-experience.ts).
// Null for the other roles.
func init() {
	registerJSONFieldAdded("jobs", "aggregatorAttempts")
}
