// Package config loads a service's settings from environment variables with envconfig,
// so every service configures the same way and fails fast on a missing variable.
package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/kelseyhightower/envconfig"
)

// Load fills cfg (a pointer to a struct with envconfig tags) from the environment.
// A missing required variable or an unparsable value fails with the variable's name.
func Load(cfg any) error {
	if err := envconfig.Process("", cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// Describe renders cfg as sorted KEY=value lines for start-up logs, masking every field
// tagged `mask:"true"` so secrets never reach a log.
func Describe(cfg any) map[string]string {
	out := map[string]string{}
	describe(reflect.ValueOf(cfg), out)
	return out
}

func describe(v reflect.Value, out map[string]string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		key := f.Tag.Get("envconfig")
		if key == "" && fv.Kind() == reflect.Struct && f.Type.String() != "time.Time" {
			describe(fv, out)
			continue
		}
		if key == "" {
			continue
		}
		val := fmt.Sprint(fv.Interface())
		if f.Tag.Get("mask") == "true" && val != "" {
			val = "****"
		}
		out[key] = val
	}
}

// String renders Describe's result on one line, in key order.
func String(cfg any) string {
	m := Describe(cfg)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}
