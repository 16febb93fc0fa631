module github.com/prefinerykit/prefinery/examples/letsgo

go 1.26.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/julienschmidt/httprouter v1.3.0
	github.com/justinas/alice v1.2.0
	github.com/justinas/nosurf v1.2.0
	github.com/prefinerykit/prefinery v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.62.0 // indirect
)

replace github.com/prefinerykit/prefinery => ../..
