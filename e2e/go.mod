module github.com/prefinerykit/prefinery/e2e

go 1.26.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/prefinerykit/prefinery v0.0.0
	github.com/prefinerykit/prefinery/examples/letsgo v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/julienschmidt/httprouter v1.3.0 // indirect
	github.com/justinas/alice v1.2.0 // indirect
	github.com/justinas/nosurf v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/prefinerykit/prefinery => ..

replace github.com/prefinerykit/prefinery/examples/letsgo => ../examples/letsgo
