package bench

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
)

// signedInClients signs n users in (POST /login with email prefix<i>@example.com),
// each with its own cookie jar, over one shared transport.
func signedInClients(b *testing.B, base string, transport http.RoundTripper, n int, prefix string) []*http.Client {
	b.Helper()
	clients := make([]*http.Client, n)
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		clients[i] = &http.Client{Jar: jar, Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := clients[i].PostForm(base+"/login", url.Values{"email": {prefix + strconv.Itoa(i) + "@example.com"}})
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
	}
	return clients
}

// fetchAccounts has the clients fetch base+"/account" b.N times in all,
// 4×GOMAXPROCS at once, each answer read whole and required to be 200.
func fetchAccounts(b *testing.B, base string, clients []*http.Client) {
	var next atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := clients[next.Add(1)%int64(len(clients))]
			res, err := c.Get(base + "/account")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
