package sqlreplay

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/redisreplay"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash harness: this test binary re-executed as a webhook server (an
// app instance), killed with SIGKILL at a chosen point of a delivery.
const (
	childEnv   = "SQLREPLAY_CHILD"   // "sql" or "redis": run as an app instance
	dialectEnv = "SQLREPLAY_DIALECT" // the server's name
	dsnEnv     = "SQLREPLAY_DSN"
	addrEnv    = "SQLREPLAY_ADDR"
	redisEnv   = "SQLREPLAY_REDIS" // the Redis address, for "redis"
	killEnv    = "SQLREPLAY_KILL"  // "point=delivery" or "random=probability"
)

// The points of a delivery where an instance is killed.
var killPoints = []string{
	"before", // claimed, Handle not started
	"inside", // Handle wrote half its effect
	"commit", // Handle wrote all of it and returned; nothing committed
	"answer", // committed; the 200 not yet sent
}

// shortLease is redisreplay's store with its claims lapsing in half a
// second rather than Budget + 30 s, so the harness sees a lost claim retried.
type shortLease struct{ *redisreplay.Store }

func (s shortLease) Begin(ctx context.Context, key string, _ time.Duration) (webhook.Status, error) {
	return s.Store.Begin(ctx, key, 500*time.Millisecond)
}

// runChild is an app instance: its Handle writes a delivery's effect as two
// rows (through the delivery's transaction with the SQL store; straight to
// the database with Redis), and it kills itself where SQLREPLAY_KILL says.
func runChild() {
	fail := func(err error) { fmt.Fprintln(os.Stderr, "child:", err); os.Exit(2) }
	d := map[string]Dialect{"postgres": Postgres, "mariadb": MariaDB, "sqlite": SQLite}[os.Getenv(dialectEnv)]
	srv := &server{dialect: d}
	db, err := sql.Open(map[Dialect]string{Postgres: "pgx", MariaDB: "mysql", SQLite: "sqlite"}[d], os.Getenv(dsnEnv))
	if err != nil {
		fail(err)
	}
	var store webhook.ReplayStore
	if os.Getenv(childEnv) == "redis" {
		pool := &redis.Pool{MaxIdle: 16, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", os.Getenv(redisEnv)) }}
		store = shortLease{redisreplay.New(pool)}
	} else if store, err = New(db, d); err != nil {
		fail(err)
	}
	point, target, _ := strings.Cut(os.Getenv(killEnv), "=")
	probability, _ := strconv.ParseFloat(target, 64)
	killAt := func(at, delivery string) {
		if (point == "random" && rand.Float64() < probability) || (point == at && target == delivery) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	handler, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{childSecret()},
		Replays: store,
		Logger:  slog.New(slog.DiscardHandler),
		Handle: func(ctx context.Context, dl webhook.Delivery) error {
			id := string(dl.Body)
			killAt("before", id)
			var to interface {
				ExecContext(context.Context, string, ...any) (sql.Result, error)
			} = db
			if tx := Tx(ctx); tx != nil {
				to = tx
			}
			if err := srv.writeEffect(ctx, to, id, 1); err != nil {
				return err
			}
			killAt("inside", id)
			if err := srv.writeEffect(ctx, to, id, 2); err != nil {
				return err
			}
			killAt("commit", id)
			return nil
		},
	})
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", os.Getenv(addrEnv))
	if err != nil {
		fail(err)
	}
	fail(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler.ServeHTTP(&killWriter{ResponseWriter: w, kill: func() { killAt("answer", string(body)) }}, r)
	})))
}

// killWriter runs kill before a 200 is sent: the delivery committed, its
// answer lost.
type killWriter struct {
	http.ResponseWriter
	kill func()
}

func (k *killWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		k.kill()
	}
	k.ResponseWriter.WriteHeader(code)
}

func childSecret() prefinery.Secret {
	s, err := prefinery.NewSecret("whsec-crash-harness-0123456789abcdef")
	if err != nil {
		panic(err)
	}
	return s
}

// instance is a child app instance on a fixed address.
type instance struct {
	addr string
	cmd  *exec.Cmd
}

// spawn starts an instance with the given kill setting and waits until it
// listens.
func spawn(t testing.TB, s *server, mode, redisAddr, addr, kill string) *instance {
	t.Helper()
	inst, err := startInstance(s, mode, redisAddr, addr, kill)
	require.NoError(t, err)
	return inst
}

func startInstance(s *server, mode, redisAddr, addr, kill string) (*instance, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, dialectEnv+"="+s.name, dsnEnv+"="+s.dsn, addrEnv+"="+addr, killEnv+"="+kill, redisEnv+"="+redisAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &instance{addr: addr, cmd: cmd}, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("the instance on %s did not start", addr)
		}
	}
}

// delivery is one signed delivery, sent as Prefinery would: the same bytes
// for every copy and retry.
type delivery struct{ id, header string }

func sign(id string) delivery {
	header, err := webhook.Sign(childSecret(), time.Now(), []byte(id))
	if err != nil {
		panic(err)
	}
	return delivery{id: id, header: header}
}

// client waits as long as Prefinery does.
var client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// send posts d to addr: the status, or an error when the instance died.
func send(addr string, d delivery) (int, string, time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr, strings.NewReader(d.id))
	req.Header.Set(webhook.Header, d.header)
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), time.Since(start), nil
}

// effectCounts reads how many rows each delivery's effect has.
func effectCounts(t testing.TB, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query("SELECT delivery, COUNT(*) FROM effects GROUP BY delivery")
	require.NoError(t, err)
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		counts[id] = n
	}
	require.NoError(t, rows.Err())
	return counts
}

// killMatrix kills an instance at each point of one delivery each, then
// delivers the same bytes again to a fresh instance until it is answered
// 200, and once more; it returns each delivery's effect rows.
func killMatrix(t *testing.T, s *server, mode, redisAddr string) map[string]int {
	db := s.open(t)
	createEffects(t, db)
	if mode == "sql" {
		st, err := New(db, s.dialect)
		require.NoError(t, err)
		require.NoError(t, st.CreateTable(context.Background()))
	}
	addr := "127.0.0.1:" + freePort()
	for _, point := range killPoints {
		d := sign("kill-" + point)
		inst := spawn(t, s, mode, redisAddr, addr, point+"="+d.id)
		_, _, _, err := send(addr, d)
		require.Error(t, err, "%s: the instance was killed, no answer", point)
		var exit *exec.ExitError
		require.ErrorAs(t, inst.cmd.Wait(), &exit)
		assert.Equal(t, "signal: killed", exit.Error())
		inst = spawn(t, s, mode, redisAddr, addr, "")
		status := 0
		for try := 0; try < 100 && status != http.StatusOK; try++ {
			var err error
			status, _, _, err = send(addr, d)
			require.NoError(t, err)
			if status != http.StatusOK {
				time.Sleep(50 * time.Millisecond) // Prefinery's retry, compressed
			}
		}
		assert.Equal(t, http.StatusOK, status, "%s: the retry is accepted", point)
		status, body, _, err := send(addr, d)
		require.NoError(t, err)
		assert.Equal(t, []any{200, `{"status":"already received"}`}, []any{status, body}, point)
		_ = inst.cmd.Process.Kill()
		_ = inst.cmd.Wait()
	}
	return effectCounts(t, db)
}

// TestKillMatrix: an instance SIGKILLed before Handle, inside it, after its
// writes before the commit, and after the commit before the answer; the
// retry: each delivery's effect exactly once, on each dialect.
func TestKillMatrix(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		counts := killMatrix(t, s, "sql", "")
		for _, point := range killPoints {
			assert.Equal(t, 2, counts["kill-"+point], "%s: the effect's two rows, once", point)
		}
	})
}

// TestKillMatrixRedis: the same kills with redisreplay and the app's writes
// in its own database: at-least-once, measured. A kill inside Handle leaves
// half an effect and the retry writes it whole again; a kill after the
// writes and before Finish doubles it once the claim lapses. (A kill after
// Finish, before the answer, is once: the retry finds it done.)
func TestKillMatrixRedis(t *testing.T) {
	r := startRedisServer(t)
	counts := killMatrix(t, startSQLite(t), "redis", r)
	t.Logf("effect rows per delivery with Redis (2 is once): %v", counts)
	assert.Equal(t, map[string]int{"kill-before": 2, "kill-inside": 3, "kill-commit": 4, "kill-answer": 2}, counts)
}

// startRedisServer starts a redis-server of its own, or skips.
func startRedisServer(t *testing.T) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server", "apt-get install -y redis-server")
	}
	port := freePort()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := redis.Dial("tcp", "127.0.0.1:"+port); err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return "127.0.0.1:" + port
			}
		}
		require.True(t, time.Now().Before(deadline), "redis-server did not start")
	}
}

// TestDatabaseRestart: the database is killed and restarted while a
// delivery is inside Handle (half its effect written), and while none is:
// the delivery is answered 429, then processed once on the retry.
func TestDatabaseRestart(t *testing.T) {
	for _, ds := range dialectServers[:2] { // SQLite has no server to restart
		t.Run(ds.name, func(t *testing.T) {
			s := ds.start(t)
			st, db := s.store(t)
			createEffects(t, db)
			db.SetMaxIdleConns(0) // no connection outlives the restart unnoticed
			inside, resume := make(chan struct{}), make(chan struct{})
			var once sync.Once
			h, err := webhook.NewHandler(webhook.Config{Secrets: []prefinery.Secret{childSecret()}, Replays: st, Logger: slog.New(slog.DiscardHandler),
				Handle: func(ctx context.Context, d webhook.Delivery) error {
					if err := s.writeEffect(ctx, Tx(ctx), string(d.Body), 1); err != nil {
						return err
					}
					once.Do(func() { close(inside); <-resume })
					return s.writeEffect(ctx, Tx(ctx), string(d.Body), 2)
				}})
			require.NoError(t, err)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv := &http.Server{Handler: h}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			addr := ln.Addr().String()

			d := sign("restart-mid-delivery")
			answered := make(chan int)
			go func() { status, _, _, _ := send(addr, d); answered <- status }()
			<-inside
			s.restart(t)
			close(resume)
			assert.Equal(t, http.StatusTooManyRequests, <-answered, "the transaction died with the connection")
			status, _, _, err := send(addr, d)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, status, "the retry")

			s.stop()
			d2 := sign("while-down")
			start := time.Now()
			status, _, _, err = send(addr, d2)
			require.NoError(t, err)
			assert.Equal(t, http.StatusTooManyRequests, status, "the database down: retried later")
			assert.Less(t, time.Since(start), 14*time.Second)
			require.NoError(t, s.launch())
			status, _, _, err = send(addr, d2)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, status)
			counts := effectCounts(t, db)
			assert.Equal(t, map[string]int{"restart-mid-delivery": 2, "while-down": 2}, counts)
		})
	}
}

// TestLoad: two instances sharing the database, 1,000 deliveries plus 300
// duplicates in random order, each instance killed at random points and
// restarted: every delivery's effect exactly once, every one answered 200
// in the end, no answer later than 14 s.
func TestLoad(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		r := load(t, s, "sql", "")
		for id, n := range r.counts {
			if n != 2 {
				t.Errorf("%s: %d effect rows, want 2", id, n)
			}
		}
		assert.Len(t, r.counts, 1000, "every delivery's effect")
	})
}

// TestLoadRedis: the same load with redisreplay, for the guarantee table.
func TestLoadRedis(t *testing.T) {
	r := load(t, startSQLite(t), "redis", startRedisServer(t))
	assert.Len(t, r.counts, 1000, "no delivery lost")
	for id, n := range r.counts {
		assert.GreaterOrEqual(t, n, 2, "%s: at least once", id)
	}
}

type loadResult struct{ counts map[string]int }

func load(t *testing.T, s *server, mode, redisAddr string) loadResult {
	const deliveries, duplicates, workers = 1000, 300, 8
	const killProbability = 0.004 // at each of the four points: about 1 in 60 deliveries
	db := s.open(t)
	createEffects(t, db)
	if mode == "sql" {
		st, err := New(db, s.dialect)
		require.NoError(t, err)
		require.NoError(t, st.CreateTable(context.Background()))
	}
	copies := make([]delivery, 0, deliveries+duplicates)
	for i := range deliveries {
		copies = append(copies, sign("load-"+strconv.Itoa(i)))
	}
	for range duplicates {
		copies = append(copies, copies[rand.IntN(deliveries)])
	}
	rand.Shuffle(len(copies), func(i, j int) { copies[i], copies[j] = copies[j], copies[i] })

	// Two instances, each restarted by its supervisor when killed.
	var stopping atomic.Bool
	var kills atomic.Int64
	var supervisors sync.WaitGroup
	addrs := []string{"127.0.0.1:" + freePort(), "127.0.0.1:" + freePort()}
	running := make([]atomic.Pointer[instance], len(addrs))
	for i, addr := range addrs {
		running[i].Store(spawn(t, s, mode, redisAddr, addr, "random="+strconv.FormatFloat(killProbability, 'f', -1, 64)))
		supervisors.Go(func() {
			for {
				_ = running[i].Load().cmd.Wait()
				if stopping.Load() {
					return
				}
				kills.Add(1)
				next, err := startInstance(s, mode, redisAddr, addr, "random="+strconv.FormatFloat(killProbability, 'f', -1, 64))
				if err != nil {
					t.Error(err)
					return
				}
				running[i].Store(next)
				if stopping.Load() { // the test ended while it started
					_ = next.cmd.Process.Kill()
					_ = next.cmd.Wait()
					return
				}
			}
		})
	}

	start := time.Now()
	queue := make(chan delivery, len(copies))
	for _, c := range copies {
		queue <- c
	}
	var pending sync.WaitGroup
	pending.Add(len(copies))
	var slowest atomic.Int64
	var retries atomic.Int64
	deadline := time.Now().Add(120 * time.Second)
	var workersDone sync.WaitGroup
	for range workers {
		workersDone.Go(func() {
			for d := range queue {
				status, _, took, err := send(addrs[rand.IntN(len(addrs))], d)
				if err == nil && int64(took) > slowest.Load() {
					slowest.Store(int64(took))
				}
				if status == http.StatusOK {
					pending.Done()
					continue
				}
				if status != 0 && status != http.StatusTooManyRequests {
					t.Errorf("%s: answered %d", d.id, status)
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: never accepted", d.id)
					pending.Done()
					continue
				}
				retries.Add(1)
				time.Sleep(20 * time.Millisecond) // Prefinery's retry, compressed
				queue <- d
			}
		})
	}
	pending.Wait()
	close(queue)
	workersDone.Wait()
	elapsed := time.Since(start)
	stopping.Store(true)
	for i := range running {
		_ = running[i].Load().cmd.Process.Kill()
	}
	supervisors.Wait()

	counts := effectCounts(t, db)
	doubled := 0
	for _, n := range counts {
		if n != 2 {
			doubled++
		}
	}
	t.Logf("%s %s: %d copies of %d deliveries in %s; %d instances killed and restarted; %d retries (429 or no answer); slowest answer %s; %d deliveries with an effect other than once",
		s.name, mode, len(copies), deliveries, elapsed.Round(time.Millisecond), kills.Load(), retries.Load(), time.Duration(slowest.Load()).Round(time.Millisecond), doubled)
	assert.Less(t, time.Duration(slowest.Load()), 14*time.Second, "every answer within 14 s")
	assert.Positive(t, kills.Load(), "instances were killed")
	return loadResult{counts: counts}
}
