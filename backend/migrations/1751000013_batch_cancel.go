package migrations

// A batch keeps when its cancel was asked for (`infernet batch cancel`, POST /v1/batches/{id}/cancel), apart from
// its state, which only the batch runner writes: the request survives a restart, and the runner that holds the
// batch stops it and writes `cancelled`. 0 while no cancel was asked.
func init() {
	registerNumberFieldAdded("batches", "cancelRequestedAt")
}
