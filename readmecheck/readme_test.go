// Package readmecheck compiles every Go block of the README, with the
// frameworks they show. It is its own module, so the library's `go test ./...`
// downloads nothing the library does not import; .ci/run runs it.
package readmecheck

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeHarness is the context the README's Go snippets assume: the names
// they use without declaring (mux, sessions, addr, templates, kit, user,
// the app's own handlers and auth) and the imports they need.
const readmeHarness = `package main

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gomodule/redigo/redis"
	gorillamux "github.com/gorilla/mux"
	"github.com/labstack/echo/v4"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerygin"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/prefinerykit/prefinery/prefinerytempl"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/a-h/templ"
)

var (
	_ = template.Must
	_ = bytes.NewReader
	_ = httptest.NewRecorder
	_ testing.TB
	_ = log.Fatal
	_ = os.Getenv
	_ = time.Minute
	_ = redisstore.New
	_ = redis.DialURL
	_ = alice.New
	_ = standin.New
	_ = webhook.NewHandler
	_ = chi.NewRouter
	_ = gorillamux.NewRouter
	_ = echo.New
	_ = gin.New
	_ = prefinerytempl.For
	_ = prefinerygin.Wrap
	_ = prefinerytest.New
	_ templ.Component
)

// renderer is examples/echo's template renderer.
type renderer struct{ t *template.Template }

func (r renderer) Render(w io.Writer, name string, data any, _ echo.Context) error {
	return r.t.ExecuteTemplate(w, name, data)
}


var (
	mux       = http.NewServeMux()
	sessions  = scs.New()
	addr      = "127.0.0.1:0"
	templates fs.FS
	kit       *prefinery.Kit
	user      appUser
	devMode   bool
	home      http.HandlerFunc
	account   http.HandlerFunc
	logout    http.HandlerFunc // a logout handler that calls kit.Logout

	currentUser           func(*http.Request) (appUser, bool) // the app's own auth
	authenticate          echo.MiddlewareFunc                 // an Echo app's auth middleware

	requireAuthentication func(http.Handler) http.Handler
	userFromBearerToken   func(*http.Request) (identifier string, verified bool)
	queue                 interface {
		Enqueue(ctx context.Context, body []byte, sentAt time.Time) error
	}
	users     interface {
		Get(ctx context.Context, id int) (appUser, error)
	}
)

// appUser is the app's own user record, as the README's blocks use it.
type appUser struct {
	Email          string
	EmailConfirmed bool
}

func main() {}
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeCodeCompiles compiles every Go code block of README.md.
func TestReadmeCodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the README's code with the go command; skipped with -short")
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks := goBlock.FindAllSubmatch(readme, -1)
	require.GreaterOrEqual(t, len(blocks), 4, "the README's Go blocks")

	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	// The README's snippets use more than the library (Redis, alice, the
	// frameworks): they build with this module's go.mod, pointed at this
	// checkout.
	gomod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	mod := strings.ReplaceAll(string(gomod), "=> ..", "=> "+root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	sum, err := os.ReadFile("go.sum")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))

	for i, b := range blocks {
		src := readmeHarness + wrapBlock(t, i, string(b[1]))
		pkg := filepath.Join(dir, fmt.Sprintf("block%d", i))
		require.NoError(t, os.MkdirAll(pkg, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644))
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "README code does not compile:\n%s", out)
}

// wrapBlock puts a statement block in a function (marking each variable it
// declares as used) and leaves declarations at top level.
func wrapBlock(t *testing.T, i int, block string) string {
	t.Helper()
	code := strings.TrimSpace(block)
	for strings.HasPrefix(code, "//") { // a leading comment line
		_, code, _ = strings.Cut(code, "\n")
		code = strings.TrimSpace(code)
	}
	if strings.HasPrefix(code, "func ") {
		return block
	}
	fn := fmt.Sprintf("func block%d() {\n%s\n}\n", i, block)
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+fn, 0)
	require.NoError(t, err, "README block %d does not parse:\n%s", i, block)
	var uses bytes.Buffer
	for _, stmt := range f.Decls[0].(*ast.FuncDecl).Body.List {
		if as, ok := stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, lhs := range as.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && id.Name != "_" {
					fmt.Fprintf(&uses, "_ = %s\n", id.Name)
				}
			}
		}
	}
	out := fmt.Sprintf("func block%d() {\n%s\n%s}\n", i, block, uses.String())
	formatted, err := format.Source([]byte(out))
	require.NoError(t, err)
	return string(formatted)
}
