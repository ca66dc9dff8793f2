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
		b, err := os.ReadFile(src) //nolint:gosec // a path under the repository's own services folder
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		dst := filepath.Join("specs", e.Name()+".yaml")
		if err := os.WriteFile(dst, b, 0o600); err != nil { //nolint:gosec // named after a folder of the repository's services directory
			return err
		}
	}
	return nil
}
