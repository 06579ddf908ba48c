#!/usr/bin/env bash
# The main job, end to end on embedded defaults: a throwaway PostgreSQL (or $DATABASE_URL's server) filled
# with generated tabletop-RPG data, a tier-1 backup into a local repository, full verification, a restore
# into a new database, a restore drill, and a short report. Optional argument: data scale (default 5).
# `scripts/demo.sh spring` runs the Spring Boot example application (backup-examples-spring) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q -Dstyle.color=never install -DskipTests
if [ "${1:-}" = "spring" ]; then
  mvn -B -ntp -q -Dstyle.color=never -pl backup-examples-spring dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt
  exec java -Xmx384m -cp "backup-examples-spring/target/classes:$(cat backup-examples-spring/target/classpath.txt)" \
    dev.savepoint.examples.spring.SpringDemo
fi
mvn -B -ntp -q -Dstyle.color=never -pl backup-examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
java -Xmx256m -cp "backup-examples/target/classes:$(cat backup-examples/target/classpath.txt)" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn dev.savepoint.examples.Demo "${1:-5}"
