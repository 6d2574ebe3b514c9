package migrations

// A provider job keeps the id (the hash) of the signed job spec it accepted, written before it runs: what its
// signed result names, so that a record, a result and a later dispute can be tied to the one spec the client
// signed. Empty for the other roles.
func init() {
	registerTextFieldAdded("jobs", "specId")
}
