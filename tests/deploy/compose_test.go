package deploy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv are the values a user puts in deploy/compose/.env (see .env.example).
var composeEnv = []string{"IDENTITY_ASSERTION_SECRET=test-secret-0123456789abcdef", "ADMIN_PASSWORD=test-admin",
	"JWT_KEY_ENCRYPTION_KEY=dGVzdC1vbmx5LWtleS1lbmNyeXB0aW9uLWtleS0wMTI="}

func loadCompose(t *testing.T, files ...string) *types.Project {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	opts, err := cli.NewProjectOptions(paths, cli.WithEnv(composeEnv), cli.WithWorkingDirectory(dir),
		cli.WithName("evently-test"), cli.WithResolvedPaths(true), cli.WithInterpolation(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("%v: %v", files, err)
	}
	return p
}

var infraServices = []string{"postgres", "redis", "kafka", "mailpit"}

// checkServices: every service has an image or a build and a healthcheck, and waits for
// the servers it depends on to be healthy.
func checkServices(t *testing.T, p *types.Project, want []string) {
	t.Helper()
	for _, name := range want {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("%s: service %s missing", p.Name, name)
			continue
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: %s has neither image nor build", p.Name, name)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			t.Errorf("%s: %s has no healthcheck", p.Name, name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: %s waits for %s to be %q, want service_healthy", p.Name, name, dep, d.Condition)
			}
		}
	}
	for name, s := range p.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: %s has neither image nor build", p.Name, name)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: %s has no healthcheck", p.Name, name)
		}
	}
}

// TestComposeFiles loads every Compose file with the specification's loader.
func TestComposeFiles(t *testing.T) {
	checkServices(t, loadCompose(t, "infra.yaml"), infraServices)
	all := loadCompose(t, "compose.yaml")
	checkServices(t, all, append(append([]string(nil), infraServices...), components...))
	if len(all.Services) != len(components)+len(infraServices) {
		t.Errorf("compose.yaml: %d services", len(all.Services))
	}
	for _, c := range components {
		t.Run(c, func(t *testing.T) {
			p := loadCompose(t, c+".yaml")
			checkServices(t, p, append([]string{c}, infraServices...))
			if len(p.Services) != 1+len(infraServices) {
				t.Errorf("%s.yaml runs %d services, want %s and the servers", c, len(p.Services), c)
			}
			s := p.Services[c]
			if !s.ReadOnly || len(s.CapDrop) == 0 {
				t.Errorf("%s: want read_only and cap_drop", c)
			}
			if s.Build == nil || s.Build.Args["COMPONENT"] == nil || *s.Build.Args["COMPONENT"] != c {
				t.Errorf("%s: build must pass COMPONENT=%s", c, c)
			}
			// With the local-servers override only the service runs, on the host's network.
			l := loadCompose(t, c+".yaml", filepath.Join("local", c+".yaml"))
			if len(l.Services) != 1 {
				t.Errorf("%s + local override: %d services enabled, want only %s", c, len(l.Services), c)
			}
			ls := l.Services[c]
			if ls.NetworkMode != "host" || len(ls.Ports) != 0 || len(ls.DependsOn) != 0 {
				t.Errorf("%s + local override: network %q, %d ports, %d dependencies", c, ls.NetworkMode, len(ls.Ports), len(ls.DependsOn))
			}
			checkServices(t, l, []string{c})
		})
	}
	l := loadCompose(t, "compose.yaml", filepath.Join("local", "compose.yaml"))
	checkServices(t, l, components)
}

// TestComposeRequiresSecrets: without the secrets the files refuse to load rather than
// start with empty ones.
func TestComposeRequiresSecrets(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "identity.yaml")}, cli.WithEnv([]string{"ADMIN_PASSWORD=x"}),
		cli.WithWorkingDirectory(dir), cli.WithName("evently-test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil {
		t.Fatal("identity.yaml loaded without IDENTITY_ASSERTION_SECRET")
	}
}
