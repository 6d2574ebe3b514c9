package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Every API request is otherwise logged to auxiliary.db (194 MB after 470k writes, measured): the node writes
// on every job transition, so only warnings and errors are kept, and for two days.
const (
	requestLogDays = 2
	logMinLevel    = 4 // slog.LevelWarn: successful requests (info) are not written
)

func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		s.Meta.AppName = "Infernet node"
		s.Meta.HideControls = true
		s.Logs.MaxDays = requestLogDays
		s.Logs.MinLevel = logMinLevel
		s.Logs.LogIP = false
		// A transition writes its job_event and the job in one batch, that is one transaction.
		s.Batch.Enabled = true
		s.Batch.MaxRequests = 50
		s.Batch.Timeout = 10
		return app.Save(s)
	}, nil)
}
