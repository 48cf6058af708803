#!/usr/bin/env bash
# Make sure what the tests need is here: PostgreSQL running on 127.0.0.1:5432 (trust auth), Debian's Chromium and
# nginx (the proxy of deploy/, run by tests/test_deploy.py on 127.0.0.1; never started as a system service).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" > /dev/null
}

if ! command -v pg_ctlcluster > /dev/null; then
  echo "Installing PostgreSQL"
  apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "Starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' > /dev/null 2>&1; then
  # A fresh Debian cluster asks for passwords on TCP; a throw-away test machine trusts local connections.
  echo "Allowing trusted local TCP connections to PostgreSQL"
  hba="$(as_root su postgres -c "psql -tAc 'show hba_file'")"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_root su postgres -c "psql -tAc 'select pg_reload_conf()'" > /dev/null
fi
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Installing Chromium"
  apt_install chromium
fi
if ! command -v nginx > /dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "Installing nginx"
  apt_install nginx-light
fi
