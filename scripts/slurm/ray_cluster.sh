# shellcheck shell=bash
# Starts and stops a Ray cluster over a list of nodes: the steps of
# alpacka_ray.sbatch, in a file of their own so that they also run without
# SLURM (tests/cluster runs them on one machine). Source it: it defines
# functions and one array, and changes nothing until alpacka_ray_up.
#
#   source scripts/slurm/ray_cluster.sh
#   alpacka_ray_up node1 node2 node3   # head on node1, workers on the others
#   python3 -m alpacka.runner ...      # RAY_ADDRESS now points at the head
#   alpacka_ray_down
#
# Each node's `ray start --block` runs in the background, through
# `srun --nodes=1 --ntasks=1 -w NODE` inside a SLURM allocation, or directly
# on this machine otherwise (or with ALPACKA_RAY_LOCAL=1), in a session of its
# own so that alpacka_ray_down can end it with all its children.
#
# Settings (environment variables, all optional):
#   ALPACKA_RAY          the ray command (default: ray, from the active venv)
#   ALPACKA_RAY_PORT     the head's GCS port (default 6379)
#   ALPACKA_RAY_HEAD_IP  the head's address (default: under SLURM, what
#                        `hostname --ip-address` says on the head node; else
#                        127.0.0.1)
#   ALPACKA_RAY_CPUS     CPUs each node gives Ray (default SLURM_CPUS_PER_TASK,
#                        else Ray counts them)
#   ALPACKA_RAY_GPUS     GPUs each node gives Ray (default SLURM_GPUS_PER_TASK,
#                        else Ray counts them)
#   ALPACKA_RAY_TEMP_DIR Ray's node-local files and sockets (default
#                        /tmp/ray_alpacka_<job id or pid>; keep it short:
#                        socket paths under it must stay below 107 characters)
#   ALPACKA_RAY_WAIT_S   how long to wait for all nodes to join (default 180)
#   ALPACKA_RAY_START_ATTEMPTS how often to try `ray start` on a node before
#                        giving up (default 3)
#   ALPACKA_RAY_START_ARGS more options of every node's `ray start`, e.g.
#                        --object-store-memory=4000000000
#   ALPACKA_RAY_HEAD_ARGS more options of the head's `ray start`
#   ALPACKA_RAY_LOCAL    1: start every node on this machine (no srun)
#   ALPACKA_RAY_SHARED_HOST 1: this cluster's nodes share a host with each
#                        other or with other Ray instances, so each node gets
#                        free ports for what Ray would put on fixed ones
#                        (workers, agents); the tests set it, a cluster with
#                        a node per host does not need it
#   RAY_AUTH_TOKEN       the cluster's token; if neither it nor
#                        RAY_AUTH_TOKEN_PATH is set, alpacka_ray_up makes a
#                        fresh one for this cluster (kept in the environment,
#                        which srun passes on: nothing is written to disk)

# pids of the background `ray start --block` (or its srun) of each node.
ALPACKA_RAY_NODE_PIDS=()

alpacka_ray_log() {
    echo "[alpacka_ray $(date +%H:%M:%S)] $*" >&2
}

alpacka_ray_under_slurm() {
    [[ -n "${SLURM_JOB_ID:-}" && "${ALPACKA_RAY_LOCAL:-0}" != 1 ]]
}

# Runs a command on one node: through srun in an allocation, else here.
alpacka_ray_on_node() {
    local node=$1
    shift
    if alpacka_ray_under_slurm; then
        # srun does not inherit sbatch's --cpus-per-task (SLURM >= 22.05):
        # pass it, or the step (and Ray in it) gets one CPU.
        srun --nodes=1 --ntasks=1 -w "$node" \
            ${SLURM_CPUS_PER_TASK:+--cpus-per-task="$SLURM_CPUS_PER_TASK"} \
            "$@"
    else
        "$@"
    fi
}

# Starts `ray start ... --block` on a node in the background, its output
# going to stderr and to the file LOG; records its pid.
#   alpacka_ray_start_node LOG NODE ARGS...
alpacka_ray_start_node() {
    local log=$1 node=$2
    shift 2
    local args=(--block --disable-usage-stats
                --temp-dir="$ALPACKA_RAY_TEMP_DIR")
    [[ -n "${ALPACKA_RAY_CPUS:-}" ]] && args+=(--num-cpus="$ALPACKA_RAY_CPUS")
    [[ -n "${ALPACKA_RAY_GPUS:-}" ]] && args+=(--num-gpus="$ALPACKA_RAY_GPUS")
    # Word-split on purpose: lists of options.
    # shellcheck disable=SC2206
    args+=(${ALPACKA_RAY_START_ARGS:-})
    # shellcheck disable=SC2206
    [[ "$1" == --head ]] && args+=(${ALPACKA_RAY_HEAD_ARGS:-})
    if [[ "${ALPACKA_RAY_SHARED_HOST:-0}" == 1 ]]; then
        # Ray's fixed default ports would clash between nodes on one host.
        args+=(--min-worker-port=0 --max-worker-port=0)
        if [[ "$1" == --head ]]; then
            args+=(--ray-client-server-port="$(alpacka_ray_free_port)")
        else
            args+=(--node-ip-address="$ALPACKA_RAY_HEAD_IP")
        fi
        local option
        for option in dashboard-agent-listen-port dashboard-agent-grpc-port \
                      metrics-export-port runtime-env-agent-port \
                      node-manager-port object-manager-port; do
            args+=(--"$option"="$(alpacka_ray_free_port)")
        done
    fi
    if alpacka_ray_under_slurm; then
        alpacka_ray_on_node "$node" "$ALPACKA_RAY" start "$@" "${args[@]}" \
            > >(tee "$log" >&2) 2>&1 &
    else
        # A session of its own: alpacka_ray_down ends the whole group.
        setsid "$ALPACKA_RAY" start "$@" "${args[@]}" \
            > >(tee "$log" >&2) 2>&1 &
    fi
    ALPACKA_RAY_NODE_PIDS+=($!)
}

# A free TCP port on this machine (for nodes sharing one host).
alpacka_ray_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# Starts `ray start ARGS` on each NODE in the background and waits until
# EXPECTED nodes of the cluster are alive. A node whose `ray start` exits
# before (on a loaded machine the raylet gives Ray's agents only 15 s to
# start) is started again, up to ALPACKA_RAY_START_ATTEMPTS times in all.
# Fails after ALPACKA_RAY_WAIT_S seconds.
#   alpacka_ray_join EXPECTED NODE... -- ARGS...
alpacka_ray_join() {
    local expected=$1
    shift
    local nodes=()
    while [[ "$1" != -- ]]; do
        nodes+=("$1")
        shift
    done
    shift
    local -A pid_of=() attempts_of=()
    local node alive waited=0 logs="$ALPACKA_RAY_TEMP_DIR/alpacka_nodes"
    mkdir -p "$logs"
    for node in "${nodes[@]}"; do
        attempts_of[$node]=1
        alpacka_ray_start_node "$logs/$node.1.log" "$node" "$@"
        pid_of[$node]=$!
    done
    while :; do
        # A node is up once its `ray start` says so (it has registered with
        # the head by then); polling `ray status` instead would load a
        # starting machine with a Python process every few seconds.
        alive=$(cat /dev/null "$logs"/*.log |
                grep -c 'Ray runtime started')
        if (( alive >= expected )); then
            alpacka_ray_log "$alive of $expected Ray nodes up at" \
                "$ALPACKA_RAY_ADDRESS"
            return 0
        fi
        for node in "${nodes[@]}"; do
            kill -0 "${pid_of[$node]}" 2>/dev/null && continue
            wait "${pid_of[$node]}" 2>/dev/null
            if (( attempts_of[$node] >= ALPACKA_RAY_START_ATTEMPTS )); then
                alpacka_ray_log "'ray start' on $node failed" \
                    "${attempts_of[$node]} times; its output is above"
                return 1
            fi
            alpacka_ray_log "'ray start' on $node exited (its output is" \
                "above); starting it again"
            rm -f "$logs/$node.${attempts_of[$node]}.log"
            attempts_of[$node]=$((attempts_of[$node] + 1))
            alpacka_ray_start_node "$logs/$node.${attempts_of[$node]}.log" \
                "$node" "$@"
            pid_of[$node]=$!
        done
        if (( waited >= ALPACKA_RAY_WAIT_S )); then
            alpacka_ray_log "only $alive of $expected Ray nodes joined" \
                "$ALPACKA_RAY_ADDRESS within ${ALPACKA_RAY_WAIT_S}s"
            return 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
}

# Starts the head on the first node and a worker on each other node, waits
# until all have joined, and exports RAY_ADDRESS for the experiment.
alpacka_ray_up() {
    local nodes=("$@")
    local head=${nodes[0]}
    ALPACKA_RAY=${ALPACKA_RAY:-ray}
    ALPACKA_RAY_PORT=${ALPACKA_RAY_PORT:-6379}
    ALPACKA_RAY_CPUS=${ALPACKA_RAY_CPUS:-${SLURM_CPUS_PER_TASK:-}}
    ALPACKA_RAY_GPUS=${ALPACKA_RAY_GPUS:-${SLURM_GPUS_PER_TASK:-}}
    ALPACKA_RAY_TEMP_DIR=${ALPACKA_RAY_TEMP_DIR:-/tmp/ray_alpacka_${SLURM_JOB_ID:-$$}}
    ALPACKA_RAY_WAIT_S=${ALPACKA_RAY_WAIT_S:-180}
    ALPACKA_RAY_START_ATTEMPTS=${ALPACKA_RAY_START_ATTEMPTS:-3}
    if [[ -z "${ALPACKA_RAY_HEAD_IP:-}" ]]; then
        if alpacka_ray_under_slurm; then
            # The first address only: a node may have several.
            ALPACKA_RAY_HEAD_IP=$(alpacka_ray_on_node "$head" \
                hostname --ip-address | awk '{print $1}')
        else
            ALPACKA_RAY_HEAD_IP=127.0.0.1
        fi
    fi
    # Every node, and the driver, must agree on token authentication.
    export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
    if [[ "$RAY_AUTH_MODE" == token && -z "${RAY_AUTH_TOKEN:-}" &&
          -z "${RAY_AUTH_TOKEN_PATH:-}" ]]; then
        RAY_AUTH_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
        export RAY_AUTH_TOKEN
    fi
    # Ray's default is to wait 30 s for a drain on SIGTERM (for Ray Serve);
    # nothing of Alpacka needs it, and alpacka_ray_down should be quick.
    export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=${RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S:-0}
    export RAY_USAGE_STATS_ENABLED=0
    ALPACKA_RAY_ADDRESS="$ALPACKA_RAY_HEAD_IP:$ALPACKA_RAY_PORT"

    alpacka_ray_log "Ray head on $head at $ALPACKA_RAY_ADDRESS"
    alpacka_ray_join 1 "$head" -- --head --port="$ALPACKA_RAY_PORT" \
        --node-ip-address="$ALPACKA_RAY_HEAD_IP" --include-dashboard=false ||
        return 1
    if (( ${#nodes[@]} > 1 )); then
        alpacka_ray_log "Ray worker nodes on ${nodes[*]:1}"
        alpacka_ray_join "${#nodes[@]}" "${nodes[@]:1}" -- \
            --address="$ALPACKA_RAY_ADDRESS" || return 1
    fi
    export RAY_ADDRESS=$ALPACKA_RAY_ADDRESS
}

# Stops every node alpacka_ray_up started: SIGTERM (Ray then stops its
# processes), then after 15 s SIGKILL to what is left of each node.
alpacka_ray_down() {
    local pid waited=0
    for pid in "${ALPACKA_RAY_NODE_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${ALPACKA_RAY_NODE_PIDS[@]}"; do
        while kill -0 "$pid" 2>/dev/null && (( waited < 15 )); do
            sleep 1
            waited=$((waited + 1))
        done
        if ! alpacka_ray_under_slurm; then
            # The whole session: raylet, GCS and Ray's workers too.
            kill -KILL -- "-$pid" 2>/dev/null
        fi
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    ALPACKA_RAY_NODE_PIDS=()
    unset RAY_ADDRESS
}
