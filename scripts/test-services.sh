#!/usr/bin/env bash
# Throw-away services for the cluster tests, started and stopped by the tests themselves (or by hand):
#   bash scripts/test-services.sh postgres start DIR   # initdb into DIR, postgres on a free port of 127.0.0.1
#   bash scripts/test-services.sh postgres stop DIR
#   bash scripts/test-services.sh slurm start DIR      # munged + slurmctld + slurmd on this host, state in DIR
#   bash scripts/test-services.sh slurm stop DIR
# `start` prints KEY=VALUE lines on stdout (PGURL=postgres://robusta@127.0.0.1:PORT/robusta, a superuser
# without password and an empty database; SLURM_CONF=DIR/slurm.conf); every
# daemon's files (data, sockets, logs, pid files) stay inside DIR, nothing under /etc or /var is used,
# and no systemd is needed. When a service cannot start, `start` exits with 77 and its last stderr line
# reads "skip: <reason>" (the tests skip, or fail under CI=true); 78 marks a documented impossibility
# of the machine (docs/cluster.md: slurmd needs root), which skips even under CI=true.
set -uo pipefail

service=${1:-}
action=${2:-}
dir=${3:-}
if [ -z "$service" ] || [ -z "$action" ] || [ -z "$dir" ]; then
  echo "usage: $0 postgres|slurm start|stop DIR" >&2
  exit 2
fi

skip() {
  echo "skip: $*" >&2
  exit 77
}
impossible() {
  echo "skip: $*" >&2
  exit 78
}
fail() {
  echo "error: $*" >&2
  exit 1
}

# A TCP port of 127.0.0.1 that nothing listens on (bash's /dev/tcp connects, or fails when free).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# Runs a command as the unprivileged owner of the PostgreSQL data (postgres refuses to run as root).
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  local b
  for b in /usr/lib/postgresql/*/bin; do
    [ -x "$b/initdb" ] && echo "$b"
  done | sort -V | tail -1
}

postgres_start() {
  local bin port
  bin=$(pg_bin)
  [ -n "$bin" ] || skip "PostgreSQL is not installed (apt-get install postgresql)"
  pg_user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || skip "running as root and there is no 'postgres' user to run the server as"
    pg_user=postgres
  fi
  mkdir -p "$dir"
  # The data folder lives in its own temporary folder that the server's user can reach (DIR's
  # parents may be private to the caller); DIR/pg.data names it.
  local data
  if [ -f "$dir/pg.data" ]; then
    data=$(cat "$dir/pg.data")
  else
    data=$(mktemp -d "${TMPDIR:-/tmp}/robusta-pg-XXXXXX") || fail "cannot create a temporary folder"
    chmod 0711 "$data"
    echo "$data" >"$dir/pg.data"
  fi
  mkdir -p "$data/pgdata"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$data/pgdata"
  chmod 0700 "$data/pgdata"
  if [ ! -f "$data/pgdata/PG_VERSION" ]; then
    as_pg_user "$bin/initdb" -D "$data/pgdata" -U robusta --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      fail "initdb failed: $(tail -3 "$dir/initdb.log")"
  fi
  for _ in 1 2 3; do
    port=$(free_port) || fail "no free TCP port"
    if as_pg_user "$bin/pg_ctl" -D "$data/pgdata" -l "$data/pgdata/server.log" -w -t 60 \
      -o "-p $port -k $data/pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >"$dir/pg_ctl.log" 2>&1; then
      echo "$port" >"$dir/pg.port"
      echo "$bin" >"$dir/pg.bin"
      "$bin/createdb" -h 127.0.0.1 -p "$port" -U robusta robusta >"$dir/createdb.log" 2>&1 || fail "createdb failed: $(cat "$dir/createdb.log")"
      echo "PGURL=postgres://robusta@127.0.0.1:$port/robusta"
      return 0
    fi
  done
  fail "postgres did not start: $(tail -5 "$data/pgdata/server.log" 2>/dev/null)"
}

postgres_stop() {
  [ -f "$dir/pg.data" ] || return 0
  local data bin
  data=$(cat "$dir/pg.data")
  if [ -f "$dir/pg.bin" ] && [ -d "$data/pgdata" ]; then
    bin=$(cat "$dir/pg.bin")
    pg_user=$(stat -c %U "$data/pgdata")
    as_pg_user "$bin/pg_ctl" -D "$data/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  case "$data" in */robusta-pg-*) rm -rf "$data" ;; esac
  rm -f "$dir/pg.data" "$dir/pg.bin" "$dir/pg.port"
}

slurm_start() {
  local b
  for b in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || skip "$b is not installed (apt-get install slurm-wlm munge)"
  done
  [ "$(id -u)" -eq 0 ] || impossible "slurmd must run as root to start jobs (this process is uid $(id -u))"
  mkdir -p "$dir"/{state,spool,log}
  chmod 0700 "$dir"
  local munge_socket="$dir/munge.socket"
  if [ ! -f "$dir/munge.key" ]; then
    /usr/sbin/mungekey -c -k "$dir/munge.key" >/dev/null 2>&1 || dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 2>/dev/null
    chmod 0400 "$dir/munge.key"
  fi
  /usr/sbin/munged --force --socket="$munge_socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed" >"$dir/log/munged.out" 2>&1 ||
    skip "munged cannot start: $(tail -2 "$dir/log/munged.out" "$dir/log/munged.log" 2>/dev/null | tr '\n' ' ')"

  local host cpus mem_mb ctld_port slurmd_port
  host=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  ctld_port=$(free_port) || fail "no free TCP port"
  slurmd_port=$(free_port) || fail "no free TCP port"
  : >"$dir/plugstack.conf"
  cat >"$dir/slurm.conf" <<EOF
# single-node test cluster written by scripts/test-services.sh
ClusterName=robusta-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
KillWait=5
MessageTimeout=20
SlurmdTimeout=300
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  /usr/sbin/slurmctld -i >"$dir/log/slurmctld.out" 2>&1 || skip "slurmctld cannot start: $(tail -3 "$dir/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
  /usr/sbin/slurmd >"$dir/log/slurmd.out" 2>&1 || skip "slurmd cannot start: $(tail -3 "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
  local state=""
  for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
    case "$state" in
      idle | mixed | allocated) echo "SLURM_CONF=$SLURM_CONF"; return 0 ;;
    esac
    sleep 0.5
  done
  skip "the node did not become idle (state '$state'): $(tail -3 "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
}

stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

slurm_stop() {
  if [ -f "$dir/slurm.conf" ]; then
    # Jobs still on the node end with the cluster (their steps are children of slurmstepd).
    SLURM_CONF="$dir/slurm.conf" scancel --full --quiet -u "$(id -un)" >/dev/null 2>&1 || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  pkill_steps
  stop_pidfile "$dir/munged.pid"
}

# slurmstepd processes of this cluster (their command line names its spool folder) outlive slurmd.
pkill_steps() {
  local pid
  for pid in $(pgrep -x slurmstepd 2>/dev/null); do
    if grep -q "$dir" "/proc/$pid/environ" 2>/dev/null || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$dir"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

case "$service:$action" in
  postgres:start) postgres_start ;;
  postgres:stop) postgres_stop ;;
  slurm:start) slurm_start ;;
  slurm:stop) slurm_stop ;;
  *) echo "usage: $0 postgres|slurm start|stop DIR" >&2; exit 2 ;;
esac
