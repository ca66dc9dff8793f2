package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// fuzzEnv raises every limit a fuzzer would trip over on purpose (it is one client sending
// thousands of requests, wrong passwords included) and ends availability streams quickly,
// so each stream request gets a whole answer. Set only for scripts/fuzz-api.sh's run.
func fuzzEnv() []string {
	if os.Getenv("EVENTLY_E2E_FUZZ") == "" {
		return nil
	}
	return []string{
		"GLOBAL_RATE_LIMIT_PER_MINUTE=10000000",
		"AUTH_RATE_LIMIT_PER_MINUTE=10000000",
		"BOOKING_RATE_LIMIT_PER_MINUTE=10000000",
		"LOGIN_THROTTLE_FREE_FAILURES=10000000",
		"SSE_MAX_DURATION=1s",
		"SSE_MAX_STREAMS_PER_CLIENT=1000",
	}
}

// TestSchemathesis runs Schemathesis, a fuzzer written outside this project, over the
// public /openapi.json of the private system: every operation, all phases (examples,
// coverage, fuzzing, stateful), once signed in as a USER and once as the ADMIN, with the
// checks not_a_server_error, response_schema_conformance, status_code_conformance and
// content_type_conformance. Any failure fails the test. scripts/fuzz-api.sh installs the
// pinned version and runs only this test (EVENTLY_E2E_FUZZ=1, SCHEMATHESIS=<binary>).
func TestSchemathesis(t *testing.T) {
	bin := os.Getenv("SCHEMATHESIS")
	if os.Getenv("EVENTLY_E2E_FUZZ") == "" || bin == "" {
		t.Skip("run by scripts/fuzz-api.sh")
	}
	_, file, _, _ := runtime.Caller(0)
	hooks := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "fuzz", "hooks.py")
	user := registerUser(t)
	examples := os.Getenv("EVENTLY_FUZZ_EXAMPLES")
	if examples == "" {
		examples = "30"
	}
	seed := os.Getenv("EVENTLY_FUZZ_SEED")
	if seed == "" {
		seed = "20261207"
	}
	for _, who := range []struct{ name, email, password string }{
		{"user", user.Email, user.Password},
		{"admin", adminEmail, adminPassword},
	} {
		t.Run(who.name, func(t *testing.T) {
			cmd := exec.Command(bin, "run", baseURL+"/openapi.json", "--url", baseURL,
				"--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
				"--phases", "examples,coverage,fuzzing,stateful", "--max-examples", examples, "--seed", seed,
				"--request-timeout", "15", "--workers", "2", "--no-color")
			cmd.Env = append(os.Environ(), "SCHEMATHESIS_HOOKS="+hooks, "EVENTLY_FUZZ_BASE_URL="+baseURL,
				"EVENTLY_FUZZ_EMAIL="+who.email, "EVENTLY_FUZZ_PASSWORD="+who.password)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			// Its caches (replayed crashes, examples) stay out of the repository, and every
			// run starts from the seed alone.
			cmd.Dir = t.TempDir()
			fmt.Printf("=== schemathesis as %s\n", who.name)
			if err := cmd.Run(); err != nil {
				t.Fatalf("schemathesis as %s: %v (failures above)", who.name, err)
			}
		})
	}
}
