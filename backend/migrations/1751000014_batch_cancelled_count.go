package migrations

// A cancelled batch keeps how many of its requests were cancelled (the batch_cancelled lines written when it
// ended), so that Anthropic's request_counts need not read every result of the batch each time it is shown.
func init() {
	registerNumberFieldAdded("batches", "cancelled")
}
