package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const redisHint = "apt-get install -y redis-server; .ci/run installs and starts one"

// redisURL returns REDIS_URL or skips (fails under PREFINERY_REQUIRE_REDIS).
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		skipOrFail(t, "REDIS_URL is not set: start a Redis and set REDIS_URL=redis://127.0.0.1:6379/0 ("+redisHint+")")
	}
	return u
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("PREFINERY_REQUIRE_REDIS") != "" {
		t.Fatal(msg) // CI installed Redis: its absence is a failure there
	}
	t.Skip(msg)
}

// TestTwoInstancesShareSessions: log in on A, B sees the same identity, log
// out on B, A answers 401.
func TestTwoInstancesShareSessions(t *testing.T) {
	store, pool, err := redisStore(redisURL(t))
	require.NoError(t, err)
	defer pool.Close()
	c := newCluster(t, 2, store)
	a, b := c.instances[0], c.instances[1]
	u := c.newUsers(1, nil)[0] // signs in on instance A

	identity := func(instance string) (int, map[string]string) {
		res, err := u.client.Get(instance + "/prefinery/identity")
		require.NoError(t, err)
		defer res.Body.Close()
		var id map[string]string
		if res.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(res.Body).Decode(&id))
		}
		return res.StatusCode, id
	}
	statusA, idA := identity(a.URL)
	statusB, idB := identity(b.URL)
	require.Equal(t, http.StatusOK, statusA)
	require.Equal(t, http.StatusOK, statusB, "instance B knows the session made on A")
	assert.Equal(t, idA, idB)
	assert.Equal(t, u.email, idB["email"])
	assert.Equal(t, c.kit.Sign(u.email), idB["signature"])

	onB := c.fetch(u, b, "/account")
	assert.Equal(t, http.StatusOK, onB.status)
	assert.Empty(t, onB.wrong, "B renders the same identity and signature")

	res, err := u.client.PostForm(b.URL+"/logout", url.Values{})
	require.NoError(t, err)
	res.Body.Close()
	statusA, _ = identity(a.URL)
	assert.Equal(t, http.StatusUnauthorized, statusA, "logged out on B means logged out on A")
}

// TestIterateRevokesOnRedis: after logouts and logins on both instances,
// scs's Iterate over the Redis store decodes every entry the kit left there,
// and "sign this user out on every device" signs her out on both.
func TestIterateRevokesOnRedis(t *testing.T) {
	store, pool, err := redisStore(redisURL(t))
	require.NoError(t, err)
	defer pool.Close()
	conn := pool.Get()
	_, err = conn.Do("FLUSHDB")
	conn.Close()
	require.NoError(t, err)
	c := newCluster(t, 2, store)
	users := c.newUsers(6, nil) // user0..user5, alternately on A and B
	for i, u := range users[2:] {
		for range 3 { // log out and back in, on either instance
			res, err := u.client.PostForm(c.instances[i%2].URL+"/logout", url.Values{})
			require.NoError(t, err)
			res.Body.Close()
			res, err = u.client.PostForm(c.instances[(i+1)%2].URL+"/login", url.Values{"email": {u.email}})
			require.NoError(t, err)
			res.Body.Close()
		}
	}
	// user0 on a second device, signed in on the other instance.
	second := c.newUsers(1, nil)[0]
	require.Equal(t, users[0].email, second.email)

	revoked := 0
	err = c.sessions[1].Iterate(context.Background(), func(ctx context.Context) error {
		if c.sessions[1].GetString(ctx, "userEmail") != users[0].email {
			return nil
		}
		revoked++
		return c.sessions[1].Destroy(ctx)
	})
	require.NoError(t, err, "scs decodes every entry in Redis")
	assert.Equal(t, 2, revoked, "both of user0's devices")
	for _, u := range []*user{users[0], second} {
		for _, instance := range c.instances {
			res, err := u.client.Get(instance.URL + "/prefinery/identity")
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "revoked everywhere")
		}
	}
	res, err := users[3].client.Get(c.instances[0].URL + "/prefinery/identity")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the others stay signed in")
}

// TestNoCrossTalkRedis: 200 users with their own cookie jars, 64 workers,
// 20,000 requests over two instances sharing Redis.
func TestNoCrossTalkRedis(t *testing.T) {
	store, pool, err := redisStore(redisURL(t))
	require.NoError(t, err)
	defer pool.Close()
	total := 20000
	if testing.Short() {
		total = 2000
	}
	assertNoCrossTalk(t, "redis", store, 200, 64, total, 90*time.Second)
}

// redisServer is a redis-server process of the test's own, so it can be
// stopped and started again. It keeps an append-only file so a restart
// recovers what it held.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "no redis-server binary: "+redisHint)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--loglevel", "warning")
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
		if err == nil {
			fmt.Fprint(conn, "PING\r\n")
			buf := make([]byte, 7)
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := io.ReadFull(conn, buf)
			conn.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return
			}
		}
		require.True(r.t, time.Now().Before(deadline), "redis-server did not start")
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// TestRedisGoesAway: stop Redis in the middle of a load; requests answer 500
// through the kit's scs ErrorFunc, never another user's identity, never a
// panic; the kit logs without identifiers or secrets; once Redis is back the
// same cookies work again.
func TestRedisGoesAway(t *testing.T) {
	redisURL(t) // the same requirement as the other Redis tests
	r := startOwnRedis(t)
	store, pool, err := redisStore(r.url())
	require.NoError(t, err)
	defer pool.Close()
	c := newCluster(t, 2, store)
	transport := newTransport()
	defer transport.CloseIdleConnections()
	users := c.newUsers(20, transport)

	var (
		stop                atomic.Bool
		ok, failed, other   atomic.Int64
		mu                  sync.Mutex
		wrong, badErrBodies []string
		wg                  sync.WaitGroup
	)
	deadline := time.Now().Add(60 * time.Second) // bound the loop in time as well
	for w := range 8 {
		wg.Go(func() {
			for i := w; !stop.Load() && time.Now().Before(deadline); i += 8 {
				u := users[i%len(users)]
				inst := c.instances[i%2]
				res, err := u.client.Get(inst.URL + "/prefinery/identity")
				if err != nil {
					other.Add(1)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case http.StatusOK:
					var id map[string]string
					if json.Unmarshal(body, &id) != nil || id["email"] != u.email || id["signature"] != c.kit.Sign(u.email) {
						mu.Lock()
						wrong = append(wrong, string(body))
						mu.Unlock()
					}
					ok.Add(1)
				case http.StatusInternalServerError:
					if string(body) != "{\"error\":\"internal server error\"}\n" {
						mu.Lock()
						badErrBodies = append(badErrBodies, string(body))
						mu.Unlock()
					}
					failed.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		limit := time.Now().Add(15 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(limit), "timed out waiting for %s", what)
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("requests to succeed", func() bool { return ok.Load() > 200 })
	r.stop()
	outageStart := failed.Load()
	waitFor("requests to fail while Redis is down", func() bool { return failed.Load() > outageStart+100 })
	okBeforeRestart := ok.Load()
	r.start()
	waitFor("requests to succeed again", func() bool { return ok.Load() > okBeforeRestart+200 })
	stop.Store(true)
	wg.Wait()
	t.Logf("during the run: %d ok, %d 500 while Redis was down, %d other", ok.Load(), failed.Load(), other.Load())

	assert.Empty(t, wrong, "never another user's identity")
	assert.Empty(t, badErrBodies, "500s carry the generic JSON error")
	assert.Zero(t, other.Load(), "no status other than 200 and 500, no broken connection")
	for _, u := range users { // the same cookies work on both instances
		for _, inst := range c.instances {
			o := c.fetch(u, inst, "/prefinery/identity")
			assert.Equal(t, http.StatusOK, o.status, "%s after the restart", u.email)
			assert.Empty(t, o.wrong)
		}
	}
	logs := c.logs.String()
	assert.Contains(t, logs, "session store failed")
	for _, u := range users {
		assert.NotContains(t, logs, u.email, "the kit logs no identifier")
	}
	assert.NotContains(t, logs, secretText)
}
