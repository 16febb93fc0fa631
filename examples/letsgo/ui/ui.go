// Package ui holds the templates and static files of the example app, shared
// by the app as it was (package before) and as adopted (package app): the
// adoption changed no template.
package ui

import "embed"

// Files are the templates (html/) and static assets (static/).
//
//go:embed html static
var Files embed.FS
