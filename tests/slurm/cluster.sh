#!/usr/bin/env bash
# cluster.sh — a one-node Slurm cluster on this machine, for tests.
#
#   tests/slurm/cluster.sh install     Debian packages: slurmctld slurmd
#                                      slurm-client munge (apt-get; as root)
#   tests/slurm/cluster.sh start DIR   munged, slurmctld and slurmd with every
#                                      file under DIR; waits until the node is
#                                      idle; exit 77 when they cannot start
#   tests/slurm/cluster.sh stop DIR    stops them (only the ones DIR started)
#
# Clients need SLURM_CONF=DIR/slurm.conf. Everything lives in DIR: the
# munge key and socket, slurm.conf, state, spool, logs, pid files; ports
# are free ones picked at start. The node is this host (hostname -s) with
# min(2, nproc) CPUs, reached on 127.0.0.1. Settings chosen to work in a
# container: no cgroups (proctrack/linuxproc, task/none), no accounting
# (sacct then fails; rlvr sweep does without), slurmd trusting the
# configured CPUs (config_overrides). A requeued job waits cred_expire (10 s
# here, 120 s by default) before it may start again.
set -u
cmd=${1:-}
dir=${2:-}

die_skip() { echo "cluster.sh: $*" >&2; exit 77; }

free_port() { # a TCP port nothing listens on, from $1 up
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

case "$cmd" in
install)
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
  ;;
start)
  [ -n "$dir" ] || { echo "usage: cluster.sh start DIR" >&2; exit 2; }
  for b in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$b" >/dev/null || die_skip "$b is not installed (tests/slurm/cluster.sh install)"
  done
  [ "$(id -u)" = 0 ] || die_skip "the daemons here run as root (SlurmUser=root); not root"
  mkdir -p "$dir"/{munge,state,spool,log}
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir/munge"
  # munged wants its key readable by its user only, and the socket's
  # directory searchable by the clients.
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 600 "$dir/munge/munge.key"
  chmod 711 "$dir/munge"
  munged -f --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" --log-file="$dir/munge/munged.log" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
    || die_skip "munged did not start: $(tail -3 "$dir/munge/munged.log" 2>/dev/null)"
  node=$(hostname -s)
  cpus=$(nproc)
  [ "$cpus" -gt 2 ] && cpus=2
  ctl_port=$(free_port $((20000 + RANDOM % 20000)))
  d_port=$(free_port $((ctl_port + 1)))
  cat > "$dir/slurm.conf" <<EOF
# A one-node test cluster written by tests/slurm/cluster.sh.
ClusterName=rlvrtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i >"$dir/log/slurmctld.stdout" 2>&1 || die_skip "slurmctld did not start: $(tail -5 "$dir/log/slurmctld.log" 2>/dev/null)"
  slurmd >"$dir/log/slurmd.stdout" 2>&1 || die_skip "slurmd did not start: $(tail -5 "$dir/log/slurmd.log" 2>/dev/null)"
  for _ in $(seq 1 60); do
    st=$(sinfo -h -n "$node" -o %T 2>/dev/null)
    [ "$st" = idle ] && { echo "cluster.sh: node $node idle (slurmctld port $ctl_port); SLURM_CONF=$dir/slurm.conf" >&2; exit 0; }
    sleep 0.5
  done
  echo "cluster.sh: node $node is '${st:-unknown}', not idle after 30 s" >&2
  tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2
  "$0" stop "$dir"
  exit 77
  ;;
stop)
  [ -n "$dir" ] || { echo "usage: cluster.sh stop DIR" >&2; exit 2; }
  export SLURM_CONF=$dir/slurm.conf
  pids=()
  for f in "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munge/munged.pid"; do
    [ -s "$f" ] && pids+=("$(cat "$f")")
  done
  [ -f "$SLURM_CONF" ] && scontrol shutdown >/dev/null 2>&1
  [ -S "$dir/munge/munge.sock" ] && munged --stop --socket="$dir/munge/munge.sock" >/dev/null 2>&1
  # Wait for them to leave; then only these pids are killed.
  for _ in $(seq 1 40); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && exit 0
    sleep 0.25
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ;;
*)
  echo "usage: cluster.sh install | start DIR | stop DIR" >&2
  exit 2
  ;;
esac
