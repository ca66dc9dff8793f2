package bench

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/inventory/internal/inventorytest"
)

// echoFor mounts the env's handler on a fresh Echo with the production middleware, for
// in-process requests.
func echoFor(b *testing.B, env *inventorytest.Env) *echo.Echo {
	srv := httpserver.New(httpserver.Options{Service: "inventory", Logger: env.Log,
		Config: httpserver.Config{BodyLimit: "1M", RequestTimeout: 15 * time.Second}})
	srv.Echo.Use(assertion.Middleware(inventorytest.Secret))
	env.Handler.Register(srv.Echo)
	return srv.Echo
}

func sign(req *http.Request, user string) {
	id := uuid.NewString()
	req.Header.Set(assertion.HeaderRequestID, id)
	assertion.Sign(req.Header, inventorytest.Secret, assertion.Identity{UserID: user, Role: assertion.RoleUser}, id, time.Now())
}

// discard is a ResponseWriter that only counts, so the benchmark measures the server's
// work and not a recorder's buffer growth.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}

func (d *discard) WriteHeader(s int) { d.status = s }

func (d *discard) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += len(b)
	return len(b), nil
}
