// Package integration runs the example app as several instances sharing one
// session store, under concurrent load: scs's memstore in the ordinary test
// run (with -race), and Redis through scs's redisstore when a Redis server is
// available (REDIS_URL, and the redis-server binary for the outage test).
// .ci/run installs Debian's redis-server and starts it for the run.
package integration
