// Package docs serves the merged OpenAPI document of every service (/openapi.json) and an
// interactive viewer (/docs) from files embedded in the binary, so both work offline.
// The service documents are copies made by `go generate` (see gen/).
package docs

//go:generate go run ./gen

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"evently.dev/gateway/internal/route"
)

//go:embed specs
var specFiles embed.FS

//go:embed assets
var assets embed.FS

// Specs returns the embedded service documents by service name.
func Specs() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(specFiles, "specs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := specFiles.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimSuffix(path.Base(p), ".yaml")] = b
		return nil
	})
	return out, err
}

// Merge combines service documents into one OpenAPI 3.1 document: every path and
// component, each operation tagged with its service. A component name two services
// define differently is renamed "<service>_<name>" in that service's part, refs included.
// Documents that do not parse are reported in problems and left out.
func Merge(specs map[string][]byte, version string) (doc map[string]any, problems []string) {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	paths := map[string]any{}
	components := map[string]map[string]any{}
	tags := []any{}
	for _, svc := range names {
		var d map[string]any
		if err := yaml.Unmarshal(specs[svc], &d); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", svc, err))
			continue
		}
		d = normalize(d).(map[string]any)
		desc := fmt.Sprintf("Served by the %s service.", svc)
		if info, ok := d["info"].(map[string]any); ok {
			if s, ok := info["description"].(string); ok && s != "" {
				desc = s
			}
		}
		tags = append(tags, map[string]any{"name": svc, "description": desc})
		renames := map[string]string{}
		if comps, ok := d["components"].(map[string]any); ok {
			for kind, v := range comps {
				items, _ := v.(map[string]any)
				for name, def := range items {
					if have, taken := components[kind][name]; taken && !equalJSON(have, def) {
						renames["#/components/"+kind+"/"+name] = "#/components/" + kind + "/" + svc + "_" + name
					}
				}
			}
		}
		if len(renames) > 0 {
			d = rewriteRefs(d, renames).(map[string]any)
		}
		if comps, ok := d["components"].(map[string]any); ok {
			for kind, v := range comps {
				items, _ := v.(map[string]any)
				if components[kind] == nil {
					components[kind] = map[string]any{}
				}
				for name, def := range items {
					if r, ok := renames["#/components/"+kind+"/"+name]; ok {
						name = strings.TrimPrefix(r, "#/components/"+kind+"/")
					}
					if _, taken := components[kind][name]; !taken {
						components[kind][name] = def
					}
				}
			}
		}
		prefix := serverPath(d)
		ps, _ := d["paths"].(map[string]any)
		for p, item := range ps {
			full := p
			if prefix != "" && !strings.HasPrefix(p, prefix+"/") && p != prefix {
				full = prefix + p
			}
			if !Public(full) {
				continue // service-to-service paths the gateway never routes
			}
			ops, _ := item.(map[string]any)
			for method, op := range ops {
				if o, ok := op.(map[string]any); ok && isMethod(method) {
					o["tags"] = []any{svc}
					addGatewayAnswers(full, o)
				}
			}
			existing, _ := paths[full].(map[string]any)
			if existing == nil {
				paths[full] = ops
				continue
			}
			for k, v := range ops {
				if _, taken := existing[k]; !taken {
					existing[k] = v
				}
			}
		}
	}
	for name, def := range gatewayComponents() {
		kind, name, _ := strings.Cut(name, "/")
		if components[kind] == nil {
			components[kind] = map[string]any{}
		}
		components[kind][name] = def
	}
	if components["securitySchemes"] == nil {
		components["securitySchemes"] = map[string]any{}
	}
	if _, ok := components["securitySchemes"]["bearerAuth"]; !ok {
		components["securitySchemes"]["bearerAuth"] = map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
	}
	comps := map[string]any{}
	for k, v := range components {
		comps[k] = v
	}
	doc = map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Evently API", "version": version,
			"description": "Every public path of Evently, through the gateway. Send `Authorization: Bearer <access_token>` " +
				"(from /api/v1/auth/login) on paths that need a user. Errors are RFC 9457 problem+json."},
		"servers":    []any{map[string]any{"url": "/"}},
		"tags":       tags,
		"paths":      paths,
		"components": comps,
	}
	return doc, problems
}

// addGatewayAnswers documents on op the answers the gateway itself gives before a request
// reaches the service, unless the service's document already describes them: 400 for a
// query string with a NUL byte or invalid UTF-8 (every server refuses those), 401 (no or
// a bad token; on public paths only a token that is present and bad), 403 on admin paths,
// 413 for a body over the limit, 429 for the rate limits, and 304 on the reads its read
// cache answers (READ_CACHE_TTL) when the client's If-None-Match names the kept ETag.
func addGatewayAnswers(path string, op map[string]any) {
	res, _ := op["responses"].(map[string]any)
	if res == nil {
		res = map[string]any{}
		op["responses"] = res
	}
	add := func(code, ref string) {
		if _, ok := res[code]; !ok {
			res[code] = map[string]any{"$ref": "#/components/responses/" + ref}
		}
	}
	add("400", "GatewayBadQuery")
	add("401", "GatewayUnauthenticated")
	if route.IsAdmin(path) {
		add("403", "GatewayForbidden")
	}
	if _, ok := op["requestBody"]; ok {
		add("413", "GatewayTooLarge")
	}
	add("429", "GatewayTooManyRequests")
	if _, ok := op["requestBody"]; !ok && cachedRead.MatchString(path) {
		add("304", "GatewayNotModified")
	}
}

// cachedRead matches the documented paths of the reads the gateway's read cache keeps.
var cachedRead = regexp.MustCompile(`^/api/v1/events/\{[^/]+\}(/availability|/venue/layout)?$`)

// gatewayComponents are the definitions addGatewayAnswers refers to, keyed "kind/name".
func gatewayComponents() map[string]any {
	problem := map[string]any{"application/problem+json": map[string]any{
		"schema": map[string]any{"$ref": "#/components/schemas/GatewayProblem"}}}
	intHeader := map[string]any{"schema": map[string]any{"type": "integer"}}
	return map[string]any{
		"schemas/GatewayProblem": map[string]any{"type": "object", "description": "RFC 9457 problem details.",
			"required": []any{"type", "title", "status", "detail", "code"},
			"properties": map[string]any{"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
				"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
				"code": map[string]any{"type": "string"}, "instance": map[string]any{"type": "string"},
				"request_id": map[string]any{"type": "string"}}},
		"responses/GatewayUnauthenticated": map[string]any{
			"description": "No access token where one is needed, or one that is invalid, expired (`token_expired`) or " +
				"revoked (`token_revoked`: logout, password or role change since it was issued; refresh or log in again).",
			"headers": map[string]any{"WWW-Authenticate": map[string]any{"schema": map[string]any{"type": "string"}}},
			"content": problem},
		"responses/GatewayBadQuery": map[string]any{
			"description": "A query parameter holds a NUL byte or invalid UTF-8 (`validation_failed`, the parameter in `errors`).", "content": problem},
		"responses/GatewayForbidden": map[string]any{"description": "The caller is not an ADMIN.", "content": problem},
		"responses/GatewayTooLarge": map[string]any{
			"description": "The body is larger than the limit (`HTTP_BODY_LIMIT`, 1 MiB by default).", "content": problem},
		"responses/GatewayNotModified": map[string]any{
			"description": "The answer the client holds is still current: its `If-None-Match` names the `ETag` the " +
				"gateway's read cache keeps for this read (kept for `READ_CACHE_TTL`). No body.",
			"headers": map[string]any{"ETag": map[string]any{"schema": map[string]any{"type": "string"}}}},
		"responses/GatewayTooManyRequests": map[string]any{
			"description": "Rate limited (per client IP, per user on hold and booking writes). `Retry-After` and " +
				"`RateLimit-Reset` both give the seconds to wait.",
			"headers": map[string]any{"Retry-After": intHeader, "RateLimit-Limit": intHeader,
				"RateLimit-Remaining": intHeader, "RateLimit-Reset": intHeader},
			"content": problem},
	}
}

// Public reports whether the gateway routes a documented path (its {params} stand for any
// one segment): only those belong in the public document.
func Public(path string) bool {
	if !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/.well-known/") {
		return false
	}
	_, ok := route.Match(path)
	return ok
}

func isMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "patch", "head", "options", "trace":
		return true
	}
	return false
}

// serverPath is the path part of a document's first server URL ("/api/v1"), which its
// paths are relative to; the merged document uses full paths.
func serverPath(d map[string]any) string {
	servers, _ := d["servers"].([]any)
	if len(servers) == 0 {
		return ""
	}
	s, _ := servers[0].(map[string]any)
	u, _ := s["url"].(string)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.Index(u, "/"); j >= 0 {
			u = u[j:]
		} else {
			u = ""
		}
	}
	return strings.TrimRight(u, "/")
}

// normalize turns YAML's decoded values into JSON-encodable ones (map[any]any keys).
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}

func rewriteRefs(v any, renames map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "$ref" {
				if r, ok := renames[s]; ok {
					t[k] = r
				}
				continue
			}
			t[k] = rewriteRefs(x, renames)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = rewriteRefs(x, renames)
		}
		return t
	}
	return v
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Register mounts /openapi.json and /docs. The merged document is built once: the specs
// are part of the binary.
func Register(e *echo.Echo, version string, warn func(msg string, args ...any)) error {
	specs, err := Specs()
	if err != nil {
		return err
	}
	doc, problems := Merge(specs, version)
	for _, p := range problems {
		warn("openapi document left out of /openapi.json", "problem", p)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("marshal merged openapi: %w", err)
	}
	e.GET("/openapi.json", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=60")
		return c.Blob(http.StatusOK, "application/json", body)
	})
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return err
	}
	static := http.StripPrefix("/docs/", http.FileServer(http.FS(sub)))
	page := func(c echo.Context) error {
		b, err := fs.ReadFile(sub, "index.html")
		if err != nil {
			return err
		}
		setPageHeaders(c)
		return c.HTMLBlob(http.StatusOK, b)
	}
	e.GET("/docs", page)
	e.GET("/docs/", page)
	e.GET("/docs/*", func(c echo.Context) error {
		setPageHeaders(c)
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	return nil
}

// setPageHeaders keeps the viewer to its own origin: no third-party scripts can run in it.
func setPageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
