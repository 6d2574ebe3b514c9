package migrations

// A client job keeps the ids of the tokens it was streamed, beside their text (output), as they arrive: what a
// continuation of the job starts from, and what `infernet jobs` shows of a job whose process died mid-stream
// (src/client/client-job-record.ts). Null for the other roles.
func init() {
	registerJSONFieldAdded("jobs", "tokenIds")
}
