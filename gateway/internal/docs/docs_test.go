package docs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestMergeCombinesServices(t *testing.T) {
	a := []byte(`
openapi: 3.1.0
info: {title: a, version: "1"}
servers: [{url: /api/v1}]
paths:
  /events:
    get:
      tags: [internal]
      responses: {'200': {content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}}
components:
  schemas:
    Thing: {type: object, properties: {a: {type: string}}}
    Problem: {type: object}
`)
	b := []byte(`
openapi: 3.1.0
info: {title: b, version: "1"}
paths:
  /api/v1/tags/active:
    post:
      responses: {'201': {content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}}
components:
  schemas:
    Thing: {type: object, properties: {b: {type: integer}}}
    Problem: {type: object}
`)
	doc, problems := Merge(map[string][]byte{"alpha": a, "beta": b, "broken": []byte("paths: [")}, "test")
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "broken") {
		t.Fatalf("problems %v", problems)
	}
	paths := doc["paths"].(map[string]any)
	things := paths["/api/v1/events"].(map[string]any)["get"].(map[string]any)
	if tags := things["tags"].([]any); len(tags) != 1 || tags[0] != "alpha" {
		t.Fatalf("tags %v", tags)
	}
	other := paths["/api/v1/tags/active"].(map[string]any)["post"].(map[string]any)
	b2, _ := json.Marshal(other)
	if !strings.Contains(string(b2), "#/components/schemas/beta_Thing") {
		t.Fatalf("beta's colliding Thing not renamed: %s", b2)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	if schemas["Thing"] == nil || schemas["beta_Thing"] == nil || schemas["beta_Problem"] != nil {
		t.Fatalf("schemas %v", schemas)
	}
}

// The embedded copies must match the services' documents; run `go generate ./internal/docs`
// in gateway/ after changing a service's api/openapi.yaml.
func TestEmbeddedSpecsAreCurrent(t *testing.T) {
	specs, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "services", "*", "api", "openapi.yaml"))
	if len(files) == 0 {
		t.Skip("services are not next to the gateway")
	}
	for _, f := range files {
		svc := filepath.Base(filepath.Dir(filepath.Dir(f)))
		want, _ := os.ReadFile(f)
		if !bytes.Equal(specs[svc], want) {
			t.Errorf("embedded %s document is stale: run `go generate ./internal/docs` in gateway/", svc)
		}
	}
	doc, problems := Merge(specs, "test")
	if len(problems) > 0 {
		t.Errorf("service documents do not parse: %v", problems)
	}
	if _, err := json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
}

func TestServesDocsAndOpenAPI(t *testing.T) {
	e := echo.New()
	if err := Register(e, "test", slog.Default().Warn); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/openapi.json": `"openapi":"3.1.0"`, "/docs": "/docs/app.js",
		"/docs/app.js": "/openapi.json", "/docs/style.css": "body"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d, missing %q", path, rec.Code, want)
		}
	}
}

// TestPublicDocumentIsPublic checks that /openapi.json documents only paths the gateway
// routes: no service-to-service /internal/v1 operation.
func TestPublicDocumentIsPublic(t *testing.T) {
	specs, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	doc, problems := Merge(specs, "test")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	paths := doc["paths"].(map[string]any)
	for p := range paths {
		if strings.Contains(p, "/internal/") || !Public(p) {
			t.Errorf("public document lists %s", p)
		}
	}
	if _, ok := paths["/api/v1/seats/hold"]; !ok || len(paths) < 40 {
		t.Fatalf("public paths missing: %d documented", len(paths))
	}
}

// TestCachedReadsDocument304 checks that the reads the gateway's read cache answers list
// its 304, and other reads do not.
func TestCachedReadsDocument304(t *testing.T) {
	specs, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := Merge(specs, "test")
	paths := doc["paths"].(map[string]any)
	has304 := func(path string) bool {
		ops, ok := paths[path].(map[string]any)
		if !ok {
			t.Fatalf("%s is not documented", path)
		}
		get, _ := ops["get"].(map[string]any)
		res, _ := get["responses"].(map[string]any)
		_, ok = res["304"]
		return ok
	}
	for p, want := range map[string]bool{"/api/v1/events/{id}": true, "/api/v1/events/{id}/availability": true,
		"/api/v1/events/{id}/venue/layout": true, "/api/v1/events": false} {
		if got := has304(p); got != want {
			t.Errorf("%s documents 304: %v, want %v", p, got, want)
		}
	}
}
