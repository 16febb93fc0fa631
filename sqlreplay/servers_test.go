package sqlreplay

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// requireEnv makes a missing server binary a failure instead of a skip (CI).
const requireEnv = "PREFINERY_REQUIRE_SQL"

// missing skips the test, or fails it where requireEnv is set.
func missing(t testing.TB, what, hint string) {
	t.Helper()
	if os.Getenv(requireEnv) != "" {
		t.Fatalf("%s not found (%s is set): %s", what, requireEnv, hint)
	}
	t.Skipf("%s not found: %s; .ci/run installs it", what, hint)
}

// server is a database for one test: a real server of its own in a
// temporary directory on a free loopback port (SQLite: a file).
type server struct {
	dialect Dialect
	name    string // "postgres", "mariadb", "sqlite"
	driver  string // the database/sql driver name
	dsn     string
	launch  func() error // starts it (again) on the same data and port
	stop    func()       // kills it at once (SQLite: nothing)
	cleanup func()       // removes its files, once stopped
}

// restart kills the server and starts it again on the same data.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.stop()
	require.NoError(t, s.launch())
}

// freePort returns a loopback port nothing listens on now.
func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// open opens a pool on the server, closed with the test.
func (s *server) open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open(s.driver, s.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// store opens a pool and a Store on it, with the table created.
func (s *server) store(t testing.TB) (*Store, *sql.DB) {
	t.Helper()
	db := s.open(t)
	st, err := New(db, s.dialect)
	require.NoError(t, err)
	require.NoError(t, st.CreateTable(context.Background()))
	return st, db
}

// dialectServers start each dialect's server.
var dialectServers = []struct {
	name  string
	start func(testing.TB) *server
}{{"postgres", startPostgres}, {"mariadb", startMariaDB}, {"sqlite", startSQLite}}

// eachDialect runs f as a subtest per dialect, on a server of its own.
func eachDialect(t *testing.T, f func(t *testing.T, s *server)) {
	for _, d := range dialectServers {
		t.Run(d.name, func(t *testing.T) { f(t, d.start(t)) })
	}
}

// asUser is a command run as the postgres user when this process is root
// (PostgreSQL refuses to run as root; CI runs as root), killed if this
// process dies first (a test binary that panics leaves no server behind).
func asUser(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, err
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return cmd, nil
}

// postgresBin finds PostgreSQL's server binaries (Debian keeps them out of
// PATH, in /usr/lib/postgresql/<version>/bin).
func postgresBin() string {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		return dir
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// shared holds each dialect's server, started once per test binary on first
// use (TestMain stops them); each test gets a database of its own on it.
var shared struct {
	sync.Mutex
	servers map[string]*launched
	n       int
}

// launched is a started server, or why it could not start.
type launched struct {
	srv           *server
	missing, hint string // a binary not found, and how to install it
	err           error
}

// stopServers stops the shared servers (from TestMain).
func stopServers() {
	shared.Lock()
	defer shared.Unlock()
	for _, l := range shared.servers {
		if l.srv != nil {
			l.srv.stop()
			if l.srv.cleanup != nil {
				l.srv.cleanup()
			}
		}
	}
}

// database starts (once) the named server and returns it with a DSN to a
// new, empty database of its own.
func database(t testing.TB, name string, launch func() *launched, newDSN func(srv *server, db string) (string, error)) *server {
	t.Helper()
	shared.Lock()
	if shared.servers == nil {
		shared.servers = map[string]*launched{}
	}
	l := shared.servers[name]
	if l == nil {
		l = launch()
		shared.servers[name] = l
	}
	shared.n++
	n := shared.n
	shared.Unlock()
	switch {
	case l.missing != "":
		missing(t, l.missing, l.hint)
	case l.err != nil:
		t.Fatalf("starting %s: %v", name, l.err)
	}
	srv := *l.srv
	dsn, err := newDSN(&srv, "t"+strconv.Itoa(n))
	require.NoError(t, err)
	srv.dsn = dsn
	return &srv
}

func startPostgres(t testing.TB) *server {
	return database(t, "postgres", launchPostgres, func(srv *server, name string) (string, error) {
		db, err := sql.Open("pgx", srv.dsn)
		if err != nil {
			return "", err
		}
		defer db.Close()
		_, err = db.Exec("CREATE DATABASE " + name)
		return strings.Replace(srv.dsn, "/postgres?", "/"+name+"?", 1), err
	})
}

func launchPostgres() *launched {
	bin := postgresBin()
	if bin == "" {
		return &launched{missing: "PostgreSQL's initdb", hint: "apt-get install -y postgresql"}
	}
	dir, err := os.MkdirTemp("", "sqlreplay-pg-")
	if err != nil {
		return &launched{err: err}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return &launched{missing: "the postgres user", hint: "apt-get install -y postgresql creates it"}
		}
		if err := exec.Command("chown", "postgres:postgres", dir).Run(); err != nil {
			return &launched{err: err}
		}
	}
	data, port := filepath.Join(dir, "data"), freePort()
	initdb, err := asUser(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	if err != nil {
		return &launched{err: err}
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		return &launched{err: fmt.Errorf("initdb: %v: %s", err, out)}
	}
	s := &server{dialect: Postgres, name: "postgres", driver: "pgx",
		dsn: "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"}
	var cmd *exec.Cmd
	s.launch = func() error {
		cmd, err = asUser(filepath.Join(bin, "postgres"), "-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB")
		if err != nil {
			return err
		}
		log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			return err
		}
		return waitReady("pgx", s.dsn, filepath.Join(dir, "log"))
	}
	s.stop = func() { // an immediate shutdown: no checkpoint, recovery at the next start
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			_ = cmd.Wait()
			cmd = nil
		}
	}
	s.cleanup = func() { os.RemoveAll(dir) }
	if err := s.launch(); err != nil {
		return &launched{err: err}
	}
	return &launched{srv: s}
}

func startMariaDB(t testing.TB) *server {
	return database(t, "mariadb", launchMariaDB, func(srv *server, name string) (string, error) {
		db, err := sql.Open("mysql", srv.dsn)
		if err != nil {
			return "", err
		}
		defer db.Close()
		_, err = db.Exec("CREATE DATABASE " + name)
		return strings.TrimSuffix(srv.dsn, "/") + "/" + name, err
	})
}

func launchMariaDB() *launched {
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		mariadbd, err = exec.LookPath("/usr/sbin/mariadbd")
	}
	install, err2 := exec.LookPath("mariadb-install-db")
	if err != nil || err2 != nil {
		return &launched{missing: "mariadbd or mariadb-install-db", hint: "apt-get install -y mariadb-server"}
	}
	dir, err := os.MkdirTemp("", "sqlreplay-mariadb-")
	if err != nil {
		return &launched{err: err}
	}
	data, port, sock := filepath.Join(dir, "data"), freePort(), filepath.Join(dir, "sock")
	userFlag := []string{}
	if os.Geteuid() == 0 {
		userFlag = []string{"--user=root"} // mariadbd refuses root unless told
	}
	if out, err := exec.Command(install, append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, userFlag...)...).CombinedOutput(); err != nil {
		return &launched{err: fmt.Errorf("mariadb-install-db: %v: %s", err, out)}
	}
	s := &server{dialect: MariaDB, name: "mariadb", driver: "mysql", dsn: "root@tcp(127.0.0.1:" + port + ")/"}
	var cmd *exec.Cmd
	s.launch = func() error {
		cmd = exec.Command(mariadbd, append([]string{"--no-defaults", "--datadir=" + data, "--port=" + port, "--bind-address=127.0.0.1",
			"--socket=" + sock, "--skip-grant-tables", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
			"--skip-log-bin", "--max-connections=300", "--log-error=" + filepath.Join(dir, "log")}, userFlag...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return err
		}
		return waitReady("mysql", s.dsn, filepath.Join(dir, "log"))
	}
	s.stop = func() {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	s.cleanup = func() { os.RemoveAll(dir) }
	if err := s.launch(); err != nil {
		return &launched{err: err}
	}
	return &launched{srv: s}
}

// waitReady waits until the server at dsn answers, up to 30 s.
func waitReady(driver, dsn, logFile string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return err
		}
		err = db.Ping()
		db.Close()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("the server did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startSQLite(t testing.TB) *server {
	path := filepath.Join(t.TempDir(), "app.db")
	return &server{dialect: SQLite, name: "sqlite", driver: "sqlite",
		dsn:    "file:" + path + "?_pragma=busy_timeout(1000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)",
		launch: func() error { return nil }, stop: func() {}}
}
