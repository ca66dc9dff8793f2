// Command gen copies every service's api/openapi.yaml into the gateway's docs package, so
// the gateway binary embeds the whole API description and /docs works offline. Run it
// with `go generate ./internal/docs` from the gateway module after changing a service's API.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "docs gen:", err)
		os.Exit(1)
	}
}

func run() error {
	root := filepath.Join("..", "..", "..", "services")
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join("specs", "*.yaml"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	for _, e := range entries {
		src := filepath.Join(root, e.Name(), "api", "openapi.yaml")
		b, err := os.ReadFile(src)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join("specs", e.Name()+".yaml"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
