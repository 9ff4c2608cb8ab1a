#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for tests and trying `mmsoak sweep slurm`.
#
#   scripts/slurm-localhost.sh install     # Debian's slurm-wlm and munge (apt-get, idempotent)
#   scripts/slurm-localhost.sh start DIR   # slurm.conf, state and logs in DIR; prints SLURM_CONF=...
#   scripts/slurm-localhost.sh stop DIR    # stops the daemons started for DIR (by their pid files)
#
# Runs as root (slurmctld and slurmd as SlurmUser=root), as CI does; facts from
# docs checked on Debian 12 (Slurm 22.05): munged must answer first, the node is
# `hostname -s`, and the daemons are stopped by pid, never by name.
set -euo pipefail

cmd="${1:-}"
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
    return 0
  fi
  echo "slurm-localhost: installing Debian's slurm-wlm and munge (apt-get)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

munge_up() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start() {
  local dir="$1"
  install
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  if ! munge_up; then
    $sudo mkdir -p /run/munge
    $sudo munged --force 2>/dev/null || $sudo munged --force
    touch "$dir/munged.started-here"
    for _ in $(seq 1 50); do munge_up && break; sleep 0.1; done
    munge_up || { echo "slurm-localhost: munged does not answer (munge -n | unmunge)" >&2; exit 1; }
  fi
  local host cpus
  host="$(hostname -s)"
  cpus="$(nproc)"
  cat >"$dir/slurm.conf" <<EOF
ClusterName=mmsoak-localhost
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -f "$dir/slurm.conf"
  slurmd -f "$dir/slurm.conf"
  for _ in $(seq 1 100); do
    if SLURM_CONF="$dir/slurm.conf" sinfo -h -o '%T' 2>/dev/null | grep -qx 'idle'; then
      echo "SLURM_CONF=$dir/slurm.conf"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm-localhost: the node did not become idle; logs in $dir/log" >&2
  stop "$dir"
  exit 1
}

stop() {
  local dir="$1"
  for d in slurmd slurmctld; do
    if [ -f "$dir/$d.pid" ]; then
      kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
      rm -f "$dir/$d.pid"
    fi
  done
  if [ -f "$dir/munged.started-here" ] && [ -f /run/munge/munged.pid ]; then
    $sudo kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    rm -f "$dir/munged.started-here"
  fi
}

case "$cmd" in
  install) install ;;
  start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
