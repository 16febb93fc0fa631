module readmecheck

go 1.26.0

require (
	github.com/alexedwards/scs/redisstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gomodule/redigo v1.9.3
	github.com/justinas/alice v1.2.0
	github.com/prefinerykit/prefinery v0.0.0
)

replace github.com/prefinerykit/prefinery => ../..
