package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/basic/app"
	"github.com/stretchr/testify/require"
)

const secretText = "integration-test-secret-0123456789"

// secret is secretText as the kit's Secret.
var secret = func() prefinery.Secret {
	s, err := prefinery.NewSecret(secretText)
	if err != nil {
		panic(err)
	}
	return s
}()

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// cluster is several instances of the example app sharing one session store.
type cluster struct {
	t         *testing.T
	instances []*httptest.Server
	kit       *prefinery.Kit // any instance's: they share the secret
	sessions  []*scs.SessionManager
	logs      *syncBuffer
}

// newCluster starts n instances on loopback, each with its own scs session
// manager on the shared store.
func newCluster(t *testing.T, n int, store scs.Store) *cluster {
	t.Helper()
	c := &cluster{t: t, logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(c.logs, nil))
	for range n {
		demo, err := app.New(app.Options{Secret: secret, Sessions: app.NewSessions(store), Logger: logger})
		require.NoError(t, err)
		srv := httptest.NewServer(demo.Handler)
		t.Cleanup(srv.Close)
		c.instances = append(c.instances, srv)
		c.sessions = append(c.sessions, demo.Sessions)
		c.kit = demo.Kit
	}
	return c
}

// user is one browser: an email and its own cookie jar.
type user struct {
	email  string
	client *http.Client
}

// newUsers signs n users in, spread over the instances.
func (c *cluster) newUsers(n int, transport http.RoundTripper) []*user {
	c.t.Helper()
	users := make([]*user, n)
	for i := range users {
		jar, err := cookiejar.New(nil)
		require.NoError(c.t, err)
		u := &user{
			email: "user" + strconv.Itoa(i) + "@example.com",
			client: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		}
		res, err := u.client.PostForm(c.instances[i%len(c.instances)].URL+"/login", url.Values{"email": {u.email}})
		require.NoError(c.t, err)
		res.Body.Close()
		require.Equal(c.t, http.StatusSeeOther, res.StatusCode, "login of %s", u.email)
		users[i] = u
	}
	return users
}

var authCall = regexp.MustCompile(`prefinery\('authenticateUser', \{"email":"([^"]*)","signature":"([0-9a-f]{64})"\}\);`)

// outcome of one request.
type outcome struct {
	status  int
	wrong   string // non-empty: the response carried an identity that is not the user's
	latency time.Duration
}

// fetch requests path as u from instance and checks whose identity came back.
func (c *cluster) fetch(u *user, instance *httptest.Server, path string) outcome {
	start := time.Now()
	res, err := u.client.Get(instance.URL + path)
	if err != nil {
		return outcome{status: -1, wrong: "", latency: time.Since(start)}
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	o := outcome{status: res.StatusCode, latency: time.Since(start)}
	if res.StatusCode != http.StatusOK {
		return o
	}
	var email, sig string
	switch path {
	case "/prefinery/identity":
		var id map[string]string
		if err := json.Unmarshal(body, &id); err != nil || len(id) != 2 {
			o.wrong = fmt.Sprintf("bad identity JSON %q", body)
			return o
		}
		email, sig = id["email"], id["signature"]
	default:
		m := authCall.FindAllSubmatch(body, -1)
		if len(m) != 1 {
			o.wrong = fmt.Sprintf("%d authenticateUser calls on %s", len(m), path)
			return o
		}
		email, sig = string(m[0][1]), string(m[0][2])
	}
	if email != u.email || sig != c.kit.Sign(email) {
		o.wrong = fmt.Sprintf("%s got the identity of %s", u.email, email)
	}
	return o
}

// loadReport summarises a load run.
type loadReport struct {
	requests, by5xx, other int
	wrong                  []string
	elapsed                time.Duration
	p50, p99               time.Duration
}

// load sends total requests from workers goroutines, spread over users,
// instances and two pages, stopping early at the deadline. Loopback only.
func (c *cluster) load(users []*user, workers, total int, deadline time.Duration) loadReport {
	var (
		next      atomic.Int64
		mu        sync.Mutex
		rep       loadReport
		latencies = make([]time.Duration, 0, total)
		wg        sync.WaitGroup
		stop      = time.Now().Add(deadline)
	)
	paths := []string{"/prefinery/identity", "/account"}
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total || time.Now().After(stop) {
					return
				}
				u := users[(i*7919)%len(users)] // a stride that mixes users
				o := c.fetch(u, c.instances[i%len(c.instances)], paths[(i/len(c.instances))%len(paths)])
				mu.Lock()
				rep.requests++
				latencies = append(latencies, o.latency)
				switch {
				case o.status >= 500:
					rep.by5xx++
				case o.status != http.StatusOK:
					rep.other++
				}
				if o.wrong != "" {
					rep.wrong = append(rep.wrong, o.wrong)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.elapsed = time.Since(start)
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		rep.p50, rep.p99 = latencies[n/2], latencies[min(n-1, n*99/100)]
	}
	return rep
}

func (r loadReport) String() string {
	return fmt.Sprintf("%d requests in %v: %.0f req/s, p50 %v, p99 %v, %d 5xx, %d other non-200, %d wrong identities",
		r.requests, r.elapsed.Round(time.Millisecond), float64(r.requests)/r.elapsed.Seconds(),
		r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.by5xx, r.other, len(r.wrong))
}

func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}
}
