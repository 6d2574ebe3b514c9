package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Reputation events keep the whole signed Nostr event (src/reputation), so that a node can re-verify and re-score
// its history and show where each rating came from. The event id is unique: storing an event heard twice, from a
// relay and from gossip, is a no-op.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("reputation_events")
		if err != nil {
			return err
		}
		c.Fields.Add(
			text("eventId", false),
			json("event"),
			number("value", false),
			text("currency", false),
			text("policy", false),
			text("model", false),
			text("via", false), // local, relay, gossip
		)
		c.AddIndex("idx_reputation_events_event", true, "eventId", "eventId != ''")
		c.AddIndex("idx_reputation_events_at", false, "at", "")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("reputation_events")
		if err != nil {
			return err
		}
		for _, name := range []string{"eventId", "event", "value", "currency", "policy", "model", "via"} {
			c.Fields.RemoveByName(name)
		}
		c.RemoveIndex("idx_reputation_events_event")
		c.RemoveIndex("idx_reputation_events_at")
		return app.Save(c)
	})
}
