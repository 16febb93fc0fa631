package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// startRedis starts a redis-server of the test's own (found on PATH, in a
// temporary directory, on a free loopback port, nothing persisted) and
// returns its address, or "" and why there is none. With
// PREFINERY_REQUIRE_REDIS set, a missing redis-server fails the test.
func startRedis(t *testing.T) (addr, missing string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redis-server not found on PATH: apt-get install -y redis-server (.ci/run installs it); the scs-redis column skips"
		if os.Getenv("PREFINERY_REQUIRE_REDIS") != "" {
			t.Fatal(msg)
		}
		return "", msg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the process this test started, by its own handle
		_ = cmd.Wait()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := redis.Dial("tcp", addr)
		if err == nil {
			_, err = conn.Do("PING")
			_ = conn.Close()
			if err == nil {
				return addr, ""
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer PING: %v (log in %s)", addr, err, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
