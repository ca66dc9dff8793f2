// Package localbroker prepares a single-node KRaft Kafka from the jars scripts/infra.sh
// fetches, for the tools and tests that own a broker of their own (the fault drills, the
// broker-outage tests): they stop and freeze it, which the shared broker must never be.
package localbroker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Prepare writes dir/server.properties for a combined broker and controller listening on
// 127.0.0.1:port (controller on ctrl), with its data under dir/data, and formats that
// storage with a fresh cluster id. It returns the properties file, for Args.
func Prepare(ctx context.Context, libs, dir string, port, ctrl int) (string, error) {
	if _, err := os.Stat(libs); err != nil {
		return "", fmt.Errorf("kafka jars not found in %s (run make infra-up once): %w", libs, err)
	}
	// One node, one replica of everything, no topic created by a stray client, and no
	// rebalance delay: a test's consumer group forms at once.
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
`, port, ctrl, filepath.Join(dir, "data"))
	propsFile := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(propsFile, []byte(props), 0o600); err != nil {
		return "", err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	format := exec.CommandContext(ctx, "java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", filepath.Join(libs, "*"), //nolint:gosec // G204: the broker's own storage tool on our own files
		"kafka.tools.StorageTool", "format", "-t", base64.RawURLEncoding.EncodeToString(id), "-c", propsFile)
	if out, err := format.CombinedOutput(); err != nil {
		return "", fmt.Errorf("format local broker storage: %w\n%s", err, out)
	}
	return propsFile, nil
}

// Args is the command line that runs the broker Prepare set up: maxHeap such as "512m",
// its logs under logsDir, logging configured by log4jConfig (the repository's quiet
// scripts/kafka/log4j2.properties).
func Args(libs, propsFile, logsDir, log4jConfig, maxHeap string) []string {
	return []string{"java", "-Xms128m", "-Xmx" + maxHeap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
		"-Dkafka.logs.dir=" + logsDir, "-Dlog4j2.configurationFile=" + log4jConfig,
		"-cp", filepath.Join(libs, "*"), "kafka.Kafka", propsFile}
}
