package app

import (
	"html/template"
	"io/fs"
	"path/filepath"

	"github.com/prefinerykit/prefinery/examples/letsgo/ui"
)

func newTemplateCache() (map[string]*template.Template, error) {
	cache := map[string]*template.Template{}
	pages, err := fs.Glob(ui.Files, "html/pages/*.tmpl.html")
	if err != nil {
		return nil, err
	}
	for _, page := range pages {
		name := filepath.Base(page)
		ts, err := template.New(name).ParseFS(ui.Files, "html/base.tmpl.html", page)
		if err != nil {
			return nil, err
		}
		cache[name] = ts
	}
	return cache, nil
}
