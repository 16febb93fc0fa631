module github.com/prefinerykit/prefinery/examples/chi

go 1.26.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/go-chi/chi/v5 v5.5.0
	github.com/prefinerykit/prefinery v0.0.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/prefinerykit/prefinery => ../..
