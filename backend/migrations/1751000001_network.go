package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The collections that later work fills: what the node knows of other providers, the reputation and payment
// ledgers that follow from job transitions, pinned content, node settings and the node's own log lines.
func init() {
	m.Register(func(app core.App) error {
		for _, c := range []*core.Collection{
			providersCollection(),
			reputationEventsCollection(),
			paymentsCollection(),
			contentCollection(),
			settingsCollection(),
			logsCollection(),
		} {
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		return dropCollections(app, "logs", "settings", "content", "payments", "reputation_events", "providers")
	})
}

func providersCollection() *core.Collection {
	c := core.NewBaseCollection("providers")
	readableByApps(c)
	c.Fields.Add(
		text("pubkey", true), // hex public key: the provider's identity on the network
		text("name", false),
		json("addresses"), // transport addresses it was last reached at
		json("models"),    // models it offers, with their parameters
		json("hardware"),  // GPUs and memory as it announced them
		json("pricing"),
		number("reputation", false),
		boolean("online"),
		number("firstSeenAt", false),
		number("lastSeenAt", false),
	)
	c.AddIndex("idx_providers_pubkey", true, "pubkey", "")
	c.AddIndex("idx_providers_last_seen", false, "lastSeenAt", "")
	return c
}

// reputation_events is an append-only ledger written by the node alone: apps may read it, never write it.
func reputationEventsCollection() *core.Collection {
	c := core.NewBaseCollection("reputation_events")
	readableByApps(c)
	c.Fields.Add(
		text("provider", true), // hex public key of the provider scored
		text("jobId", false),
		text("kind", true), // e.g. completed, verified, missed-deadline, wrong-output
		number("delta", false),
		text("reason", false),
		text("signedBy", false), // hex public key of the node that observed it
		number("at", true),
	)
	c.AddIndex("idx_reputation_events_provider", false, "provider", "")
	c.AddIndex("idx_reputation_events_job", false, "jobId", "")
	return c
}

// payments holds the node's money: nobody but the superuser may read or touch it.
func paymentsCollection() *core.Collection {
	c := core.NewBaseCollection("payments")
	superuserOnly(c)
	c.Fields.Add(
		text("jobId", true),
		oneOf("role", true, jobRoles...),
		oneOf("direction", true, "incoming", "outgoing"),
		text("rail", true), // lightning, evm, ...
		number("amount", true),
		text("unit", true), // sat, wei, ...
		oneOf("state", true, "pending", "held", "released", "refunded", "failed"),
		text("reference", false),    // invoice payment hash, transaction hash, ...
		text("counterparty", false), // hex public key of the other side
		json("details"),
		number("createdAt", true),
		number("updatedAt", true),
	)
	c.AddIndex("idx_payments_job", false, "jobId", "")
	c.AddIndex("idx_payments_reference", false, "reference", "")
	return c
}

func contentCollection() *core.Collection {
	c := core.NewBaseCollection("content")
	readableByApps(c)
	c.Fields.Add(
		text("hash", true),  // sha256 hex of the bytes: the content's address
		text("kind", false), // model, dataset, output, ...
		text("name", false),
		text("mime", false),
		number("size", false),
		boolean("pinned"),
		json("sources"), // where the bytes can be fetched
		number("createdAt", true),
	)
	c.AddIndex("idx_content_hash", true, "hash", "")
	return c
}

// settings is the node's own key-value configuration; apps have no business reading it.
func settingsCollection() *core.Collection {
	c := core.NewBaseCollection("settings")
	superuserOnly(c)
	c.Fields.Add(
		text("key", true),
		json("value"),
		number("updatedAt", true),
	)
	c.AddIndex("idx_settings_key", true, "key", "")
	return c
}

// logs holds the node's own log lines for dashboards (PocketBase's request log is the separate _logs table).
func logsCollection() *core.Collection {
	c := core.NewBaseCollection("logs")
	readableByApps(c)
	c.Fields.Add(
		oneOf("level", true, "trace", "debug", "info", "warn", "error", "fatal"),
		text("source", false), // component that wrote it
		longText("message", 20000),
		text("jobId", false),
		json("data"),
		number("at", true),
	)
	c.AddIndex("idx_logs_at", false, "at", "")
	c.AddIndex("idx_logs_job", false, "jobId", "")
	return c
}
