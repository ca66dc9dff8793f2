package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
)

// BindJSON decodes the request body strictly into dst: unknown fields, trailing data,
// wrong types and oversize bodies become 400/413 errors that name the offending field.
func BindJSON(c echo.Context, dst any) error {
	if err := RequireJSON(c); err != nil {
		return err
	}
	return DecodeJSON(c.Request().Body, dst)
}

// RequireJSON refuses a body declared as anything but JSON with a 400
// unsupported_media_type. A request without Content-Type is accepted, so plain clients
// (curl -d) need not set one; handlers that decode with DecodeJSON call it first.
func RequireJSON(c echo.Context) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apperr.New(apperr.KindInvalid, "unsupported_media_type", "send the body as application/json")
	}
	return nil
}

// DecodeJSON is BindJSON's decoder, usable on any reader (and by fuzz tests). A string
// holding NUL (\u0000) is refused like malformed JSON: PostgreSQL cannot store it in text,
// and every service would otherwise fail on it with a 500 at its first write.
func DecodeJSON(r io.Reader, dst any) error {
	scan := &nulScan{r: r}
	dec := json.NewDecoder(scan)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apperr.ErrInvalidJSON.WithDetail("the request body must hold a single JSON object")
	}
	if scan.found {
		return apperr.ErrInvalidJSON.WithDetail("text in the request body must not contain NUL (\\u0000)")
	}
	return nil
}

// nulScan passes a JSON text through and notes an escaped NUL (\u0000) in it; a backslash
// that is itself escaped (\\u0000, the six characters) does not count.
type nulScan struct {
	r           io.Reader
	backslashes int
	matched     int // characters of "u0000" seen after an escaping backslash
	found       bool
}

func (s *nulScan) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	for _, b := range p[:n] {
		if s.matched > 0 {
			if b == "u0000"[s.matched] {
				if s.matched++; s.matched == len("u0000") {
					s.found, s.matched = true, 0
				}
				continue
			}
			s.matched = 0
		}
		if b == '\\' {
			s.backslashes++
			continue
		}
		if b == 'u' && s.backslashes%2 == 1 {
			s.matched = 1
		}
		s.backslashes = 0
	}
	return n, err
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &maxErr), errors.As(err, &httpErr) && httpErr.Code == http.StatusRequestEntityTooLarge:
		// Echo's body limit reports a streamed (chunked) body past the limit this way.
		return apperr.ErrTooLarge
	case errors.Is(err, io.EOF):
		return apperr.ErrInvalidJSON.WithDetail("the request body is empty")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.ErrInvalidJSON.WithDetail("the request body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: field,
			Message: fmt.Sprintf("must be of type %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: name, Message: "is not a known field"})
	default:
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return ae
		}
		return apperr.ErrInvalidJSON.WithDetail("the request body could not be read: %v", err)
	}
}

func jsonType(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return goKind
	}
}

// PathUUID parses the named path parameter as a UUID, answering 400 when it is malformed.
func PathUUID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: name, Message: "must be a UUID"})
	}
	return id, nil
}

// AcceptsGzip reports whether an Accept-Encoding header value lets the answer be gzipped:
// gzip (or *) listed without q=0. Handlers that keep a gzipped copy of a large answer,
// and caches keyed by encoding, decide with it.
func AcceptsGzip(acceptEncoding string) bool {
	ok := false
	for _, part := range strings.Split(acceptEncoding, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		refused := false
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					refused = true
				}
			}
		}
		if coding == "gzip" {
			return !refused // an explicit gzip entry decides
		}
		ok = !refused
	}
	return ok
}
