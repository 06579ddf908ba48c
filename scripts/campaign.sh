#!/usr/bin/env bash
# The reliability campaign, long: kill -9 at seeded random moments of backups (plain, custom, parallel), restores
# over a live database and into a directory, and prune, checking after each kill that nothing is lost or left
# behind (KillCampaignTest; CI runs 2 kills per operation). Arguments: kills per operation (default 25), seed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q install -DskipTests
CI=true mvn -B -ntp -pl backup-cli test -Dtest=KillCampaignTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsavepoint.campaign.kills="${1:-25}" -Dsavepoint.campaign.seed="${2:-$RANDOM}" | grep -E "^\||kill campaign|restore kills|Tests run|FAIL"
