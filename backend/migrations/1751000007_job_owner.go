package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// A client job keeps the process that runs it (pid, and its start on Linux), so that a job whose process ended
// before it did can be told from one still running: `infernet jobs` and a daemon start record it ended
// (src/jobs/orphaned-client-jobs.ts). Null for the other roles.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("jobs")
		if err != nil {
			return err
		}
		c.Fields.Add(json("owner"))
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("jobs")
		if err != nil {
			return err
		}
		c.Fields.RemoveByName("owner")
		return app.Save(c)
	})
}
