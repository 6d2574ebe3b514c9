package main

import (
	"github.com/pocketbase/pocketbase/core"
)

// sequenceJobEvents numbers every job event in the order it is written: the feed's readers
// (src/jobs/job-event-feed.ts) keep their place by this number. The job store writes each event inside a batch,
// which PocketBase runs as one transaction on its single writing connection, so the maximum read here and the
// insert cannot interleave with another event's; the unique index on seq refuses a duplicate if they ever did.
func sequenceJobEvents(app core.App) {
	app.OnRecordCreateExecute("job_events").BindFunc(func(e *core.RecordEvent) error {
		var last int64
		if err := e.App.NonconcurrentDB().NewQuery("SELECT COALESCE(MAX(seq), 0) FROM job_events").Row(&last); err != nil {
			return err
		}
		e.Record.Set("seq", last+1)
		return e.Next()
	})
}
