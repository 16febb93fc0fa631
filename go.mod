module github.com/prefinerykit/prefinery

// Supported: the two most recent Go releases (Go 1.26 and Go 1.27); see CHANGELOG.md.
go 1.26.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/justinas/alice v1.2.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/net v0.62.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
