package main

import (
	"net/http"

	"github.com/pocketbase/pocketbase/core"
)

// expectedStateField is a request-only field: a job update that carries it is applied only while the job is
// still in that state. It makes a transition a compare-and-set, so that two node processes sharing this
// backend (the daemon and a CLI) cannot both move one job from the same state.
const expectedStateField = "expectedState"

func guardJobTransitions(app core.App) {
	app.OnRecordUpdateRequest("jobs").BindFunc(func(e *core.RecordRequestEvent) error {
		info, err := e.RequestInfo()
		if err != nil {
			return err
		}
		expected, named := info.Body[expectedStateField].(string)
		// Inside a batch the record was loaded in the batch's transaction, so this check and the write are atomic.
		if named && e.Record.Original().GetString("state") != expected {
			return e.Error(http.StatusConflict, "The job is no longer in the expected state.", map[string]any{
				"expectedState": expected,
				"state":         e.Record.Original().GetString("state"),
			})
		}
		return e.Next()
	})
}
