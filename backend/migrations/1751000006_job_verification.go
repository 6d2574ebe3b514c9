package migrations

// An aggregator's run that waits for its client's verification verdict (state verifying) keeps here what the
// verdict is checked against and when the wait ends (src/verification/pending-verification.ts), so that a
// restart neither pays the run before its verdict nor forgets it: null for every other job.
func init() {
	registerJSONFieldAdded("jobs", "verification")
}
