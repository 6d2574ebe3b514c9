package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// An aggregator's run that waits for its client's verification verdict (state verifying) keeps here what the
// verdict is checked against and when the wait ends (src/verification/pending-verification.ts), so that a
// restart neither pays the run before its verdict nor forgets it: null for every other job.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("jobs")
		if err != nil {
			return err
		}
		c.Fields.Add(json("verification"))
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("jobs")
		if err != nil {
			return err
		}
		c.Fields.RemoveByName("verification")
		return app.Save(c)
	})
}
