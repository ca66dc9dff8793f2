package kafkatest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/localbroker"
	"evently.dev/libs/testkit"
)

// PrivateBroker is a single-node Kafka one test owns, so it can stop and freeze it
// without disturbing anyone sharing the project's broker.
type PrivateBroker struct {
	t          *testing.T
	dir, libs  string
	props      string // server.properties
	port, ctrl int
	cmd        *exec.Cmd
	exited     chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// StartPrivateBroker formats and starts a broker from the Kafka jars named by the
// KAFKA_LIBS variable (what scripts/infra.sh fetches into $EVENTLY_DATA_DIR/kafka/libs) and
// kills it when the test ends. It skips the test when KAFKA_LIBS is unset or java is
// missing: such tests stop and freeze their broker, which only a broker of their own allows.
func StartPrivateBroker(t *testing.T) *PrivateBroker {
	t.Helper()
	libs := os.Getenv("KAFKA_LIBS")
	if libs == "" {
		t.Skip("KAFKA_LIBS (a directory of Kafka jars) not set: this test starts and stops its own broker")
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java to run a private broker")
	}
	b := &PrivateBroker{t: t, dir: t.TempDir(), libs: libs, port: freePort(t), ctrl: freePort(t)}
	props, err := localbroker.Prepare(context.Background(), libs, b.dir, b.port, b.ctrl)
	if err != nil {
		t.Fatal(err)
	}
	b.props = props
	b.Start()
	t.Cleanup(func() {
		if b.cmd != nil && b.cmd.Process != nil {
			_ = b.cmd.Process.Signal(syscall.SIGCONT)
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	return b
}

// Addr is the broker's host:port.
func (b *PrivateBroker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// Start starts the broker process and waits until it answers.
func (b *PrivateBroker) Start() {
	b.t.Helper()
	logs := filepath.Join(b.dir, "logs")
	args := localbroker.Args(b.libs, b.props, logs, log4jConfig(), "384m")
	b.cmd = exec.Command(args[0], args[1:]...) //nolint:gosec // the test's own Kafka jars and temp dir
	out, err := os.Create(filepath.Join(b.dir, "kafka.out"))
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd.Stdout, b.cmd.Stderr = out, out
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start private broker: %v", err)
	}
	b.exited = make(chan struct{})
	go func() { _ = b.cmd.Wait(); _ = out.Close(); close(b.exited) }()
	cfg := sarama.NewConfig()
	cfg.Version = kafka.Version
	testkit.Eventually(b.t, 120*time.Second, func() bool {
		c, err := sarama.NewClient([]string{b.Addr()}, cfg)
		if err != nil {
			return false
		}
		defer func() { _ = c.Close() }()
		return len(c.Brokers()) > 0
	}, "private broker up")
}

// Stop shuts the broker down (SIGTERM, like a service manager) and waits for it to exit.
func (b *PrivateBroker) Stop() {
	b.t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(60 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// Freeze stops the broker process (SIGSTOP): connections stay open and nothing answers.
func (b *PrivateBroker) Freeze() { _ = b.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen broker (SIGCONT).
func (b *PrivateBroker) Thaw() { _ = b.cmd.Process.Signal(syscall.SIGCONT) }

// log4jConfig is the repository's quiet log configuration for local brokers, found from
// this file so tests of any package can use it.
func log4jConfig() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "kafka", "log4j2.properties")
}
