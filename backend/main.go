// The node's local database: PocketBase embedded as a library, with Infernet's collections created by the Go
// migrations in ./migrations on first start. The TypeScript side (src/storage) starts this binary and talks to
// it over HTTP on 127.0.0.1.
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"

	_ "github.com/infernet/infernet/backend/migrations"
)

func main() {
	// DefaultDev is explicit: PocketBase guesses "go run" (and turns on dev mode, which prints every SQL
	// statement) for any binary under the user cache dir, where scripts/build-backend.sh keeps this one.
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false})

	// Automigrate stays off: the schema is owned by the Go migrations in this repository, never by edits made
	// in the dashboard of one node.
	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{
		TemplateLang: migratecmd.TemplateLangGo,
		Automigrate:  false,
	})

	guardJobTransitions(app)
	sequenceJobEvents(app)
	app.RootCmd.AddCommand(superuserFromStdinCommand(app))

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
