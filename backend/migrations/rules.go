// Package migrations creates Infernet's collections. Each file registers one migration with m.Register; they
// run in file-name order when `serve` starts, once per data directory.
package migrations

import (
	"path/filepath"
	"runtime"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// appRule lets an authenticated app (a record of the `users` auth collection) read a collection. A nil rule
// means "superuser only": the node itself, authenticated as its superuser, does every write that apps may not.
var appRule = `@request.auth.id != "" && @request.auth.collectionName = "users"`

func ptr(s string) *string { return &s }

// readableByApps opens list and view to apps and keeps every write for the superuser.
func readableByApps(c *core.Collection) {
	c.ListRule = ptr(appRule)
	c.ViewRule = ptr(appRule)
	c.CreateRule = nil
	c.UpdateRule = nil
	c.DeleteRule = nil
}

// superuserOnly closes every operation to everyone but the superuser.
func superuserOnly(c *core.Collection) {
	c.ListRule = nil
	c.ViewRule = nil
	c.CreateRule = nil
	c.UpdateRule = nil
	c.DeleteRule = nil
}

// Field constructors keep the collection definitions readable.

func text(name string, required bool) *core.TextField {
	return &core.TextField{Name: name, Required: required}
}

func longText(name string, max int) *core.TextField {
	return &core.TextField{Name: name, Max: max}
}

func number(name string, required bool) *core.NumberField {
	return &core.NumberField{Name: name, Required: required}
}

func integer(name string) *core.NumberField {
	return &core.NumberField{Name: name, OnlyInt: true}
}

func json(name string) *core.JSONField {
	return &core.JSONField{Name: name}
}

func oneOf(name string, required bool, values ...string) *core.SelectField {
	return &core.SelectField{Name: name, Required: required, MaxSelect: 1, Values: values}
}

func boolean(name string) *core.BoolField {
	return &core.BoolField{Name: name}
}

// registerJSONFieldAdded registers, under the calling file's name (the migration's name in every data directory
// that applied it), a migration that adds a JSON field to a collection, and removes it on the way down.
func registerJSONFieldAdded(collection, field string) {
	_, caller, _, _ := runtime.Caller(1)
	registerFieldAdded(filepath.Base(caller), collection, field, func() core.Field { return json(field) })
}

// registerTextFieldAdded is registerJSONFieldAdded for a text field.
func registerTextFieldAdded(collection, field string) {
	_, caller, _, _ := runtime.Caller(1)
	registerFieldAdded(filepath.Base(caller), collection, field, func() core.Field { return text(field, false) })
}

// registerNumberFieldAdded is registerJSONFieldAdded for a number field (0 where a record has none).
func registerNumberFieldAdded(collection, field string) {
	_, caller, _, _ := runtime.Caller(1)
	registerFieldAdded(filepath.Base(caller), collection, field, func() core.Field { return number(field, false) })
}

func registerFieldAdded(name, collection, field string, newField func() core.Field) {
	change := func(app core.App, apply func(c *core.Collection)) error {
		c, err := app.FindCollectionByNameOrId(collection)
		if err != nil {
			return err
		}
		apply(c)
		return app.Save(c)
	}
	m.Register(func(app core.App) error {
		return change(app, func(c *core.Collection) { c.Fields.Add(newField()) })
	}, func(app core.App) error {
		return change(app, func(c *core.Collection) { c.Fields.RemoveByName(field) })
	}, name)
}
