package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// maxCredentialsBytes bounds what the command reads: the node writes one small JSON object.
const maxCredentialsBytes = 64 * 1024

// superuserFromStdinCommand is PocketBase's `superuser upsert` with the email and password read as JSON
// ({"email": ..., "password": ...}) from stdin instead of the command line, which any local user can read in
// /proc/<pid>/cmdline (threat model, attack 13). It prints the same success line as `superuser upsert`.
func superuserFromStdinCommand(app core.App) *cobra.Command {
	return &cobra.Command{
		Use:          "superuser-upsert-stdin",
		Short:        "Creates, or updates if its email exists, the superuser whose email and password are read as JSON from stdin",
		SilenceUsage: true,
		RunE: func(command *cobra.Command, args []string) error {
			if len(args) != 0 {
				return errors.New("takes no arguments: the credentials come from stdin")
			}
			raw, err := io.ReadAll(io.LimitReader(os.Stdin, maxCredentialsBytes+1))
			if err != nil {
				return fmt.Errorf("failed to read the credentials from stdin: %w", err)
			}
			if len(raw) > maxCredentialsBytes {
				return fmt.Errorf("the credentials on stdin exceed %d bytes", maxCredentialsBytes)
			}
			var credentials struct {
				Email    string `json:"email"`
				Password string `json:"password"`
			}
			if err := json.Unmarshal(raw, &credentials); err != nil {
				return fmt.Errorf("the credentials on stdin are not a JSON object with email and password: %w", err)
			}
			// The email's format is checked by app.Save, with the superusers collection's own validators.
			if credentials.Email == "" || credentials.Password == "" {
				return errors.New("missing email or password")
			}
			superusers, err := app.FindCachedCollectionByNameOrId(core.CollectionNameSuperusers)
			if err != nil {
				return fmt.Errorf("failed to fetch %q collection: %w", core.CollectionNameSuperusers, err)
			}
			superuser, err := app.FindAuthRecordByEmail(superusers, credentials.Email)
			if err != nil {
				superuser = core.NewRecord(superusers)
			}
			superuser.SetEmail(credentials.Email)
			superuser.SetPassword(credentials.Password)
			if err := app.Save(superuser); err != nil {
				return fmt.Errorf("failed to upsert superuser account: %w", err)
			}
			fmt.Printf("Successfully saved superuser %q!\n", superuser.Email())
			return nil
		},
	}
}
