#!/usr/bin/env bash
# Usage: [GPUS=8] [SIGNAL=USR1@180] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
#
# Pre-emption: srun --signal=$SIGNAL sends the tasks SIGUSR1 180 s before the
# time limit; Slurm's pre-emption sends SIGTERM. On either, train.py
# (PreemptionHook) saves a checkpoint after the current iteration and exits
# with code 75. This script then, inside a batch job (sbatch: SLURM_JOB_ID is
# set), requeues it (scontrol requeue $SLURM_JOB_ID); run from a login node,
# it starts srun again, at most MAX_RESTARTS (10) times. train.py always gets
# --resume, so a requeued or restarted job continues from the newest readable
# checkpoint of WORK_DIR. A signal that reaches this script is passed on to
# the tasks.
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
SIGNAL=${SIGNAL:-USR1@180}
MAX_RESTARTS=${MAX_RESTARTS:-10}
PY_ARGS=${@:5}
EXIT_PREEMPTED=75

# srun in the background, signals passed on; returns the tasks' exit code
train() {
    PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
    srun -p ${PARTITION} \
        --job-name=${JOB_NAME} \
        --gres=gpu:${GPUS_PER_NODE} \
        --ntasks=${GPUS} \
        --ntasks-per-node=${GPUS_PER_NODE} \
        --cpus-per-task=${CPUS_PER_TASK} \
        --kill-on-bad-exit=1 \
        --signal=${SIGNAL} \
        ${SRUN_ARGS} \
        ${PYTHON:-python} -u "$(dirname "$0")/train.py" ${CONFIG} \
        --work-dir=${WORK_DIR} --launcher="slurm" --resume ${PY_ARGS} &
    local pid=$! rc
    trap "kill -s TERM $pid 2>/dev/null" TERM
    trap "kill -s USR1 $pid 2>/dev/null" USR1
    while true; do
        wait "$pid"
        rc=$?
        kill -0 "$pid" 2>/dev/null && continue  # a signal cut the wait
        if [ "$rc" -gt 128 ]; then  # cut, and srun ended meanwhile
            wait "$pid" 2>/dev/null
            local last=$?
            [ "$last" -eq 127 ] || rc=$last
        fi
        break
    done
    trap - TERM USR1
    return "$rc"
}

restarts=0
while true; do
    train
    rc=$?
    [ "$rc" -eq "$EXIT_PREEMPTED" ] || exit "$rc"
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        echo "slurm_train.sh: pre-empted, checkpoint saved; requeueing job $SLURM_JOB_ID"
        scontrol requeue "$SLURM_JOB_ID"
        exit $?
    fi
    restarts=$((restarts + 1))
    if [ "$restarts" -gt "$MAX_RESTARTS" ]; then
        echo "slurm_train.sh: pre-empted $restarts times; resume with --resume"
        exit "$rc"
    fi
    echo "slurm_train.sh: pre-empted, checkpoint saved; restart $restarts of $MAX_RESTARTS"
done
