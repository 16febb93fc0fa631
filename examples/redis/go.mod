module github.com/prefinerykit/prefinery/examples/redis

go 1.26.0

require (
	github.com/alexedwards/scs/redisstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gomodule/redigo v1.9.3
	github.com/prefinerykit/prefinery v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/justinas/alice v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/prefinerykit/prefinery => ../..
