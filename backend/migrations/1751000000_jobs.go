package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Kept in step with src/jobs/state-machine.ts and job-record.ts: a select field refuses a state or role that
// the TypeScript state machine does not know.
var jobStates = []string{
	"created", "matched", "dispatched", "running", "verifying",
	"completed", "settled", "failed", "cancelled", "refunded",
}

var jobRoles = []string{"client", "aggregator", "provider"}

// maxOutputChars bounds a stored job output (PocketBase's default text limit of 5000 is too small for one).
const maxOutputChars = 4 << 20

func init() {
	m.Register(func(app core.App) error {
		if err := app.Save(jobsCollection()); err != nil {
			return err
		}
		return app.Save(jobEventsCollection())
	}, func(app core.App) error {
		return dropCollections(app, "job_events", "jobs")
	})
}

func jobsCollection() *core.Collection {
	c := core.NewBaseCollection("jobs")
	readableByApps(c)
	// An app may submit a job for this node to run as a client; every later change is the node's.
	c.CreateRule = ptr(appRule + ` && @request.body.role = "client" && @request.body.state = "created"`)
	c.Fields.Add(
		text("jobId", true),
		oneOf("role", true, jobRoles...),
		oneOf("state", true, jobStates...),
		text("model", false),
		text("client", false),
		text("provider", false),
		text("aggregator", false),
		integer("tokens"),
		longText("output", maxOutputChars),
		text("outputHash", false),
		json("error"),
		number("createdAt", true),
		number("updatedAt", true),
	)
	c.AddIndex("idx_jobs_job_role", true, "jobId, role", "")
	c.AddIndex("idx_jobs_created_at", false, "createdAt", "")
	c.AddIndex("idx_jobs_state", false, "state", "")
	return c
}

func jobEventsCollection() *core.Collection {
	c := core.NewBaseCollection("job_events")
	readableByApps(c)
	c.Fields.Add(
		text("jobId", true),
		oneOf("role", true, jobRoles...),
		// Empty for the event that creates the job (from: null in TypeScript).
		oneOf("from", false, jobStates...),
		oneOf("to", true, jobStates...),
		number("at", true),
		text("reason", false),
	)
	c.AddIndex("idx_job_events_job", false, "jobId", "")
	return c
}

func dropCollections(app core.App, names ...string) error {
	for _, name := range names {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			continue // already gone
		}
		if err := app.Delete(c); err != nil {
			return err
		}
	}
	return nil
}
