package consumer_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/migrate"
	"evently.dev/libs/testkit"
)

// privateBroker is a single-node Kafka this test owns, so it can stop and freeze it
// without disturbing anyone sharing the project's broker.
type privateBroker struct {
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

// startPrivateBroker formats and starts a broker from the jars in libs (what
// scripts/infra.sh fetches into $EVENTLY_DATA_DIR/kafka/libs).
func startPrivateBroker(t *testing.T, libs string) *privateBroker {
	t.Helper()
	b := &privateBroker{t: t, dir: t.TempDir(), libs: libs, port: freePort(t), ctrl: freePort(t)}
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
	format := exec.Command("java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", filepath.Join(libs, "*"),
		"kafka.tools.StorageTool", "format", "-t", base64.RawURLEncoding.EncodeToString(id),
		"-c", filepath.Join(b.dir, "server.properties"))
	if out, err := format.CombinedOutput(); err != nil {
		t.Fatalf("format private broker storage: %v\n%s", err, out)
	}
	b.start()
	t.Cleanup(func() {
		if b.cmd != nil && b.cmd.Process != nil {
			_ = b.cmd.Process.Signal(syscall.SIGCONT)
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	return b
}

func (b *privateBroker) addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

func (b *privateBroker) start() {
	b.t.Helper()
	logs := filepath.Join(b.dir, "logs")
	b.cmd = exec.Command("java", "-Xms128m", "-Xmx384m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
		"-Dkafka.logs.dir="+logs, "-Dlog4j2.configurationFile="+filepath.Join("..", "..", "scripts", "kafka", "log4j2.properties"),
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
		c, err := sarama.NewClient([]string{b.addr()}, cfg)
		if err != nil {
			return false
		}
		defer func() { _ = c.Close() }()
		return len(c.Brokers()) > 0
	}, "private broker up")
}

// stop shuts the broker down (SIGTERM, like a service manager) and waits for it to exit.
func (b *privateBroker) stop() {
	b.t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(60 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// A consumer recovers by itself from a broker that is stopped and started again, and
// from one frozen longer than the group session: no restart of the runner, nothing lost
// and nothing applied twice. It needs its own broker, so it runs only where the Kafka
// jars are at hand: KAFKA_LIBS=$EVENTLY_DATA_DIR/kafka/libs go test -run Outage ./consumer/
func TestIntegrationRunnerSurvivesBrokerOutage(t *testing.T) {
	libs := os.Getenv("KAFKA_LIBS")
	if libs == "" {
		t.Skip("KAFKA_LIBS (a directory of Kafka jars) not set: this test starts and stops its own broker")
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java to run a private broker")
	}
	broker := startPrivateBroker(t, libs)
	cfg := kafka.Config{Brokers: []string{broker.addr()}, TopicPrefix: testkit.Name(t, "t") + ".",
		ClientID: "evently-test", Partitions: 3}.WithDefaults()
	db := testkit.DB(t, schema)
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, schema, consumer.Migrations); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE effects (event_id text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	kafkatest.Topics(t, cfg, topic)

	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{Group: "outage", Topics: []string{topic},
		Handler:       func(ctx context.Context, tx bun.Tx, e kafka.Event) error { return applyEffect(ctx, tx, e) },
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)

	var sent []kafka.Event
	publishRound := func(label string) {
		t.Helper()
		p, err := kafka.NewSyncProducer(cfg)
		if err != nil {
			t.Fatalf("%s: producer: %v", label, err)
		}
		defer func() { _ = p.Close() }()
		var round []kafka.Event
		for i := range 30 {
			round = append(round, event(t, cfg, fmt.Sprintf("k%d", i%5), "evently.test.happened.v1"))
		}
		publish(t, p, round...)
		sent = append(sent, round...)
		t0 := time.Now()
		testkit.Eventually(t, 90*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") >= len(sent) }, "%s", label)
		t.Logf("%s: %d events applied %s after publishing", label, len(round), time.Since(t0).Round(time.Millisecond))
	}
	publishRound("before the outage")

	broker.stop()
	t0 := time.Now()
	time.Sleep(15 * time.Second) // longer than the session timeout: the group forgets the member
	broker.start()
	t.Logf("broker down %s (stopped, then started again)", time.Since(t0).Round(time.Second))
	publishRound("after the broker restart")

	_ = broker.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(15 * time.Second)
	_ = broker.cmd.Process.Signal(syscall.SIGCONT)
	t.Log("broker frozen 15s (SIGSTOP, SIGCONT)")
	publishRound("after the broker freeze")

	if !r.Ready() {
		testkit.Eventually(t, 30*time.Second, r.Ready, "runner back in a group session")
	}
	appliedOnce(t, db, sent)
}
