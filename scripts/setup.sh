#!/usr/bin/env bash
# Installs what Savepoint's tests and demo need and a fresh machine may lack: PostgreSQL server binaries
# (initdb, pg_ctl, pg_dump, psql, pg_restore), gpg, zstd, ssh-keygen and openssl. Does nothing when they are already there.
set -euo pipefail

need=()
if [ -z "${SAVEPOINT_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v zstd >/dev/null 2>&1 || need+=(zstd)   # the manual-recovery tests run the README's zstd commands
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)   # approvers sign restore requests with SSH keys
command -v openssl >/dev/null 2>&1 || need+=(openssl)   # the TLS test makes its CA and server certificate
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# initdb refuses to run as root; the test kit then runs the server as the postgres user.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
