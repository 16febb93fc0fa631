module github.com/prefinerykit/prefinery/examples/templ

go 1.26.0

require (
	github.com/a-h/templ v0.3.1100
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/prefinerykit/prefinery v0.0.0
	github.com/prefinerykit/prefinery/prefinerytempl v0.0.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/prefinerykit/prefinery => ../..

replace github.com/prefinerykit/prefinery/prefinerytempl => ../../prefinerytempl
