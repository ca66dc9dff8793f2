package kafkatest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
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
	"evently.dev/libs/testkit"
)

// PrivateBroker is a single-node Kafka one test owns, so it can stop and freeze it
// without disturbing anyone sharing the project's broker.
type PrivateBroker struct {
	t          *testing.T
	dir, libs  string
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
	props := fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[2]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=%[3]s
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`, b.port, b.ctrl, filepath.Join(b.dir, "data"))
	if err := os.WriteFile(filepath.Join(b.dir, "server.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	format := exec.Command("java", //nolint:gosec // the test's own Kafka jars and temp dir
		"-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", filepath.Join(libs, "*"),
		"kafka.tools.StorageTool", "format", "-t", base64.RawURLEncoding.EncodeToString(id),
		"-c", filepath.Join(b.dir, "server.properties"))
	if out, err := format.CombinedOutput(); err != nil {
		t.Fatalf("format private broker storage: %v\n%s", err, out)
	}
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
	b.cmd = exec.Command("java", //nolint:gosec // the test's own Kafka jars and temp dir
		"-Xms128m", "-Xmx384m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
		"-Dkafka.logs.dir="+logs, "-Dlog4j2.configurationFile="+log4jConfig(),
		"-cp", filepath.Join(b.libs, "*"), "kafka.Kafka", filepath.Join(b.dir, "server.properties"))
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
