#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for neuvis's cluster tests and for trying the job-array
# commands without a real cluster: munged + slurmctld + slurmd with a minimal slurm.conf for this host.
#
#   tools/slurm_local.sh start   # writes $NEUVIS_SLURM_DIR/slurm.conf, starts the daemons, waits until the node is idle
#   tools/slurm_local.sh env     # prints `export SLURM_CONF=…` for the clients (sbatch, squeue, sacct)
#   tools/slurm_local.sh stop    # stops the daemons this script started
#
# Needs Debian's slurm-wlm and munge (slurmctld, slurmd, munged) and root (munged and slurmd run as
# root here). Everything it writes lives in $NEUVIS_SLURM_DIR (default /tmp/neuvis-slurm); the
# system's /etc/slurm is not touched. No cgroups: processes are tracked with proctrack/linuxproc, so
# it also runs in containers.
set -euo pipefail
DIR=${NEUVIS_SLURM_DIR:-/tmp/neuvis-slurm}
CONF=$DIR/slurm.conf
HOST=$(hostname -s)

start() {
  for b in munged slurmctld slurmd sbatch sinfo; do
    command -v "$b" >/dev/null || { echo "slurm_local: $b not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
  done
  mkdir -p "$DIR"/{state,spool,log,run}
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  cat > "$CONF" <<CONFEOF
# written by neuvis tools/slurm_local.sh: a one-node cluster for tests
ClusterName=neuvis-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${NEUVIS_SLURMCTLD_PORT:-6817}
SlurmdPort=${NEUVIS_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONFEOF
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1; then
      su -s /bin/sh munge -c "munged" 2>/dev/null || munged --force
    else
      munged --force
    fi
  fi
  export SLURM_CONF=$CONF
  if [ -f "$DIR/run/slurmctld.pid" ] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null; then
    echo "slurm_local: already running ($CONF)"
  else
    slurmctld -f "$CONF" -i
    slurmd -f "$CONF"
  fi
  for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
    if [ "$state" = "idle" ] || [ "$state" = "mix" ] || [ "$state" = "alloc" ]; then
      echo "slurm_local: node $HOST is $state (SLURM_CONF=$CONF)"
      return 0
    fi
    sleep 1
  done
  echo "slurm_local: the node did not become idle; logs:" >&2
  tail -20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  exit 1
}

stop() {
  for d in slurmd slurmctld; do
    if [ -f "$DIR/run/$d.pid" ]; then
      kill "$(cat "$DIR/run/$d.pid")" 2>/dev/null || true
      rm -f "$DIR/run/$d.pid"
    fi
  done
  echo "slurm_local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
