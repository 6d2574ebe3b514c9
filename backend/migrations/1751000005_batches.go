package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Batch jobs (src/batch): a batch with its requests, the shards it was split into, and its results in chunks
// written as requests finish. The aggregator resumes an unfinished batch from these after a restart: a request
// whose result is in batch_results is never run again.
const batchJSONMaxBytes = 256 << 20

var batchStates = []string{"queued", "running", "completed", "failed", "cancelled"}
var shardStates = []string{"pending", "running", "completed", "failed", "split"}

func init() {
	m.Register(func(app core.App) error {
		for _, c := range []*core.Collection{batchesCollection(), batchShardsCollection(), batchResultsCollection()} {
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		return dropCollections(app, "batch_results", "batch_shards", "batches")
	})
}

func bigJSON(name string) *core.JSONField {
	return &core.JSONField{Name: name, MaxSize: batchJSONMaxBytes}
}

func batchesCollection() *core.Collection {
	c := core.NewBaseCollection("batches")
	readableByApps(c)
	c.Fields.Add(
		text("batchId", true),
		text("model", true),
		oneOf("state", true, batchStates...),
		integer("total"),
		integer("completed"),
		integer("failed"),
		bigJSON("requests"), // the parsed input lines, in input order
		json("options"),     // price cap, verification policy, request timeout
		text("inputName", false),
		json("error"),
		number("createdAt", true),
		number("updatedAt", true),
		number("finishedAt", false),
	)
	c.AddIndex("idx_batches_batch_id", true, "batchId", "")
	c.AddIndex("idx_batches_state", false, "state", "")
	return c
}

func batchShardsCollection() *core.Collection {
	c := core.NewBaseCollection("batch_shards")
	readableByApps(c)
	c.Fields.Add(
		text("batchId", true),
		text("shardId", true),
		json("indices"), // input line indices of this shard, in order
		text("provider", false),
		oneOf("state", true, shardStates...),
		integer("attempt"),
		integer("done"),
		text("reason", false),
		number("updatedAt", true),
	)
	c.AddIndex("idx_batch_shards_id", true, "batchId, shardId", "")
	return c
}

func batchResultsCollection() *core.Collection {
	c := core.NewBaseCollection("batch_results")
	readableByApps(c)
	c.Fields.Add(
		text("batchId", true),
		bigJSON("results"), // [{index, line}] of requests that finished, with a response or an error
		number("createdAt", true),
	)
	c.AddIndex("idx_batch_results_batch", false, "batchId", "")
	return c
}
