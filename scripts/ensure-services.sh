#!/usr/bin/env bash
# Make sure what the tests need is here: PostgreSQL running on 127.0.0.1:5432 (trust auth), Redis on 127.0.0.1:6379
# (the job engine's broker; started keeping nothing on disk), Debian's Chromium and
# nginx (the proxy of deploy/, run by tests/test_deploy.py on 127.0.0.1; never started as a system service).
# Whatever it changes on the machine is listed before it is done; on a machine that has it all, it changes nothing.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
sudo_note() { if [ "$(id -u)" = 0 ]; then echo ""; else echo " (with sudo)"; fi; }

# Redis answers PING (bash's /dev/tcp: redis-cli may be missing where only the server was installed).
redis_up() {
  exec 3<> /dev/tcp/127.0.0.1/6379 2> /dev/null || return 1
  printf 'PING\r\n' >&3
  local answer
  read -r -t 2 answer <&3 || true
  exec 3>&-
  [[ "$answer" == +PONG* ]]
}

packages=()
command -v pg_ctlcluster > /dev/null || packages+=(postgresql)
command -v redis-server > /dev/null || packages+=(redis-server)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || packages+=(chromium)
{ command -v nginx > /dev/null || [ -x /usr/sbin/nginx ]; } || packages+=(nginx-light)
if [ "${#packages[@]}" -gt 0 ]; then
  echo "Installing system-wide with apt-get$(sudo_note): ${packages[*]} (needed by the tests; nginx is never run as a service)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" > /dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  cluster="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "Starting the PostgreSQL $cluster cluster 'main'$(sudo_note) (it keeps running after the tests)"
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' > /dev/null 2>&1; then
  # A fresh Debian cluster asks for passwords on TCP; a throw-away test machine trusts local connections.
  hba="$(as_root su postgres -c "psql -tAc 'show hba_file'")"
  echo "PostgreSQL asks local TCP clients for a password: adding 'host all all 127.0.0.1/32 trust' and" \
    "'host all all ::1/128 trust' at the top of $hba$(sudo_note), then reloading it (a test machine only)"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_root su postgres -c "psql -tAc 'select pg_reload_conf()'" > /dev/null
fi
if ! redis_up; then
  echo "Starting redis-server on 127.0.0.1:6379, keeping nothing on disk (it keeps running after the tests)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no > /dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  redis_up || { echo "redis-server did not answer on 127.0.0.1:6379" >&2; exit 1; }
fi
