#!/usr/bin/env bash
# Runs every test against real servers (a throwaway PostgreSQL cluster, the real gpg), installing what is
# missing first. With CI=true a missing dependency fails the run instead of skipping tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp verify "$@"
