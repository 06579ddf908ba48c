#!/usr/bin/env bash
# Installs what Savepoint's tests and demo need and a fresh machine may lack: PostgreSQL server binaries
# (initdb, pg_ctl, pg_dump, psql, pg_restore), gpg, zstd, ssh-keygen, openssl, a C compiler, headless Chromium and
# promtool, and builds the test kit's security label provider into the server. Does nothing when they are already there.
set -euo pipefail

need=()
if [ -z "${SAVEPOINT_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v zstd >/dev/null 2>&1 || need+=(zstd)   # the manual-recovery tests run the README's zstd commands
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)   # approvers sign restore requests with SSH keys
command -v curl >/dev/null 2>&1 || need+=(curl)   # the archive_command test hands WAL to wal push-server with curl
command -v openssl >/dev/null 2>&1 || need+=(openssl)   # the TLS test makes its CA and server certificate
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)   # builds the test label provider (below)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the status page test renders it in a real browser
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

# The alert rules are checked and unit-tested with Prometheus's promtool: take it from Debian's prometheus package,
# unpacked, not installed (which would start a Prometheus server).
if ! command -v promtool >/dev/null 2>&1; then
  work="$(mktemp -d)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  fetch_prometheus() { (cd "$work" && chmod 777 . && apt-get download -qq prometheus 2>/dev/null \
    && dpkg -x prometheus_*.deb root); }
  if fetch_prometheus || { $SUDO apt-get update -qq && fetch_prometheus; }; then
    $SUDO install -m 0755 "$work/root/usr/bin/promtool" /usr/local/bin/promtool
  else
    echo "setup: cannot fetch promtool (Debian package prometheus); the alert rule tests will fail under CI" >&2
  fi
  rm -rf "$work"
fi

# The fidelity tests set security labels, which PostgreSQL records only through a loaded label provider. Build the
# test kit's provider (backup-testkit/src/main/c) against the server's own headers — taken from its
# postgresql-server-dev package, unpacked, not installed — into the server's library directory.
bin="${SAVEPOINT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
if [ -x "$bin/pg_config" ]; then
  pkglib="$("$bin/pg_config" --pkglibdir)"
  if [ ! -f "$pkglib/savepoint_test_seclabel.so" ]; then
    major="$("$bin/pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
    include="$("$bin/pg_config" --includedir-server)"
    work="$(mktemp -d)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if [ ! -f "$include/postgres.h" ]; then
      fetch() { (cd "$work" && chmod 777 . && apt-get download -qq "postgresql-server-dev-$major" 2>/dev/null \
        && dpkg -x postgresql-server-dev-*.deb root); }
      fetch || { $SUDO apt-get update -qq && fetch; } || echo "setup: cannot fetch postgresql-server-dev-$major" >&2
      include="$work/root/usr/include/postgresql/$major/server"
    fi
    if gcc -O2 -fPIC -shared -I "$include" -o "$work/savepoint_test_seclabel.so" \
        "$(dirname "$0")/../backup-testkit/src/main/c/savepoint_test_seclabel.c"; then
      $SUDO install -m 0755 "$work/savepoint_test_seclabel.so" "$pkglib/"
    else
      echo "setup: could not build the test label provider; the security label test will fail under CI" >&2
    fi
    rm -rf "$work"
  fi
fi
