#!/usr/bin/env bash
# kafka-topics for the local broker, using the jars that infra.sh fetched
# (there is no Kafka distribution on these machines).
#   scripts/kafka-topics.sh --list
#   scripts/kafka-topics.sh --create --topic orders --partitions 3
# --bootstrap-server defaults to $KAFKA_BOOTSTRAP (127.0.0.1:9092).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kafka_libs_ready || die "Kafka jars not found in $KAFKA_LIBS; run scripts/infra.sh up first"

args=("$@")
if [[ " $* " != *" --bootstrap-server "* && " $* " != *" --bootstrap-server="* ]]; then
  args=(--bootstrap-server "${KAFKA_BOOTSTRAP:-127.0.0.1:9092}" "${args[@]}")
fi
exec java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 \
  -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/tools-log4j2.properties" \
  -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand "${args[@]}"
