package migrations

// A client job keeps the process that runs it (pid, and its start on Linux), so that a job whose process ended
// before it did can be told from one still running: `infernet jobs` and a daemon start record it ended
// (src/jobs/orphaned-client-jobs.ts). Null for the other roles.
func init() {
	registerJSONFieldAdded("jobs", "owner")
}
