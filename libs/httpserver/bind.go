package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
)

// BindJSON decodes the request body strictly into dst: unknown fields, trailing data,
// wrong types and oversize bodies become 400/413 errors that name the offending field.
func BindJSON(c echo.Context, dst any) error {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apperr.New(apperr.KindInvalid, "unsupported_media_type", "send the body as application/json")
	}
	return DecodeJSON(req.Body, dst)
}

// DecodeJSON is BindJSON's decoder, usable on any reader (and by fuzz tests).
func DecodeJSON(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apperr.ErrInvalidJSON.WithDetail("the request body must hold a single JSON object")
	}
	return nil
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
