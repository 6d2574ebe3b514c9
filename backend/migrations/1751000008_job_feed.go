package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The job event feed (src/jobs/job-event-feed.ts): every job event gets a sequence number in the order it was
// written (assigned by the backend, ../job_feed.go), and each reader of the feed (settlement, phone pushes)
// keeps its place in job_feed_cursors, so that after a crash it goes on from the first event it had not
// handled. Events written before this migration are numbered in the order SQLite stored them.
func init() {
	m.Register(func(app core.App) error {
		events, err := app.FindCollectionByNameOrId("job_events")
		if err != nil {
			return err
		}
		events.Fields.Add(integer("seq"))
		if err := app.Save(events); err != nil {
			return err
		}
		if _, err := app.DB().NewQuery("UPDATE job_events SET seq = rowid").Execute(); err != nil {
			return err
		}
		events.AddIndex("idx_job_events_seq", true, "seq", "")
		if err := app.Save(events); err != nil {
			return err
		}
		cursors := core.NewBaseCollection("job_feed_cursors")
		superuserOnly(cursors)
		cursors.Fields.Add(text("reader", true), integer("seq"))
		cursors.AddIndex("idx_job_feed_cursors_reader", true, "reader", "")
		return app.Save(cursors)
	}, func(app core.App) error {
		if err := dropCollections(app, "job_feed_cursors"); err != nil {
			return err
		}
		events, err := app.FindCollectionByNameOrId("job_events")
		if err != nil {
			return err
		}
		events.RemoveIndex("idx_job_events_seq")
		events.Fields.RemoveByName("seq")
		return app.Save(events)
	})
}
