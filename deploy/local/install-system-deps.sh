#!/usr/bin/env bash
# Installs the system packages the local stack needs, if missing: a JDK 17+ and Maven (Kafka),
# Go (FerretDB), PostgreSQL server binaries, Chromium (dashboard tests), Prometheus (Ray
# metrics). Debian/Ubuntu via apt-get when run as root (or with sudo); elsewhere it names what
# to install and exits non-zero. Idempotent.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # dashboard browser tests
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)  # Ray metrics (stack service)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "fitray: missing system packages: ${missing[*]} — install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "fitray: missing system packages: ${missing[*]} — run: apt-get install ${missing[*]} as root" >&2
    exit 1
  fi
fi
echo "fitray: installing system packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
