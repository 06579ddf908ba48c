#!/usr/bin/env bash
# Backup/restore speed and peak heap against pg_dump | gzip, pg_dump | gpg, gunzip | psql and pg_restore -j2,
# on the same generated database in one run. Argument: data scale (default 6000, about 2 GB of dump).
# Runs in its own JVM limited to 256 MB of heap (SAVEPOINT_BENCH_HEAP to change). Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q install -DskipTests
mvn -B -ntp -q -pl backup-examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
export GNUPGHOME="$(mktemp -d)"
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "backup-examples/target/classes:$(cat backup-examples/target/classpath.txt)" \
  dev.savepoint.examples.Benchmark "${1:-6000}"
