#!/usr/bin/env bash
# Backup/restore speed, CPU and peak heap against the machine's limit (pg_dump -Fd -j2 -Z0) and the best peers
# (pg_dump | zstd -3 -T2, pg_restore -j2) on chat-like data (gzip ~3:1), one run per scale. Arguments: scales (default 1000 4000: ~0.5 and 2 GB).
# Runs in its own JVM limited to 256 MB of heap (SAVEPOINT_BENCH_HEAP to change). Not part of the test run.
# "benchmark.sh s3 [MiB]" measures S3 upload throughput with 1, 2 and 4 parts in flight instead;
# "benchmark.sh crypto [MiB]" OpenPGP encryption throughput against gpg on the same file;
# "benchmark.sh pitr [scale]" WAL streaming against pg_receivewal and PITR restore against pg_basebackup + cp;
# "benchmark.sh bucket [objects] [s3 [parallelism]]" bucket backups of many small objects (full, no change, 1 % changed,
# restore; s3: a full backup to the in-process S3 server too; parallelism: objects in flight, default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q install -DskipTests
mvn -B -ntp -q -pl backup-examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
export GNUPGHOME="$(mktemp -d)"
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
CP="backup-examples/target/classes:$(cat backup-examples/target/classpath.txt)"
if [ "${1:-}" = "crypto" ]; then
  # OpenPGP encryption throughput vs gpg --symmetric --compress-algo none on the same file. Argument: MiB.
  exec java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "$CP" dev.savepoint.examples.EncryptionBenchmark "${2:-1024}"
fi
if [ "${1:-}" = "s3" ]; then
  # Upload throughput to the in-process S3 server with 1, 2, 4 parts in flight. Argument: MiB (default 512).
  exec java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "$CP" dev.savepoint.examples.S3UploadBenchmark "${2:-512}"
fi
if [ "${1:-}" = "bucket" ]; then
  # Bucket backups of many small objects: full, no change, 1 % changed, restore; "s3" adds a full backup to the
  # in-process S3 server. Arguments: objects (default 100000), s3.
  exec java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "$CP" dev.savepoint.examples.BucketBenchmark "${2:-100000}" "${3:-}" ${4:+"$4"}
fi
if [ "${1:-}" = "pitr" ]; then
  # WAL streaming against pg_receivewal and PITR restore against pg_basebackup + cp, one cluster. Argument: scale.
  exec java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "$CP" dev.savepoint.examples.PitrBenchmark "${2:-750}"
fi
java -Xmx"${SAVEPOINT_BENCH_HEAP:-256m}" -cp "$CP" dev.savepoint.examples.Benchmark "$@"
