package httpserver

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
)

// MaxLimit caps every page so one request cannot ask for a whole table.
const MaxLimit = 100

// PageInfo is the pagination block of every list response.
type PageInfo struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	Total  int `json:"total"`
}

// List is the shape of every list response: {"items": [...], "page": {...}}.
type List[T any] struct {
	Items []T      `json:"items"`
	Page  PageInfo `json:"page"`
}

// NewList builds a list response; a nil slice is sent as [] so clients need no null check.
func NewList[T any](items []T, limit, offset, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Page: PageInfo{Limit: limit, Offset: offset, Total: total}}
}

// ParsePage reads limit and offset, answering 400 for non-numbers, a limit outside
// 1..MaxLimit or a negative offset.
func ParsePage(c echo.Context, defaultLimit int) (limit, offset int, err error) {
	var fields apperr.Fields
	limit, offset = defaultLimit, 0
	if s := c.QueryParam("limit"); s != "" {
		n, convErr := strconv.Atoi(s)
		switch {
		case convErr != nil:
			fields.Add("limit", "must be an integer")
		case n < 1 || n > MaxLimit:
			fields.Add("limit", "must be between 1 and %d", MaxLimit)
		default:
			limit = n
		}
	}
	if s := c.QueryParam("offset"); s != "" {
		n, convErr := strconv.Atoi(s)
		switch {
		case convErr != nil:
			fields.Add("offset", "must be an integer")
		case n < 0:
			fields.Add("offset", "must not be negative")
		default:
			offset = n
		}
	}
	return limit, offset, fields.BadRequest()
}
