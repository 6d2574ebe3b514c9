package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Payments settle crash-safely (src/payments/settlement): the node first writes what it decided for a payment
// (release or refund) and only then acts on the chain or on Lightning, so a restart finishes what was decided
// instead of deciding again. One payment per job, role and rail: the unique index makes recording a payment
// idempotent across processes and restarts.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("payments")
		if err != nil {
			return err
		}
		c.Fields.Add(
			oneOf("decision", false, "release", "refund"),
			number("decidedAt", false),
		)
		c.RemoveIndex("idx_payments_job")
		c.AddIndex("idx_payments_job_role_rail", true, "jobId, role, rail", "")
		c.AddIndex("idx_payments_state", false, "state", "")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("payments")
		if err != nil {
			return err
		}
		c.Fields.RemoveByName("decision")
		c.Fields.RemoveByName("decidedAt")
		c.RemoveIndex("idx_payments_job_role_rail")
		c.RemoveIndex("idx_payments_state")
		c.AddIndex("idx_payments_job", false, "jobId", "")
		return app.Save(c)
	})
}
