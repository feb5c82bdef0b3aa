# Sourced by the benches that run several ranks on this machine.
# launch_ranks WORLD ARGS...: starts WORLD `$bin ARGS...` processes with the environment torchrun
# gives (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), their output
# discarded, and waits for all of them.
launch_ranks() {
  local world=$1 port=$((29700 + RANDOM % 200)) pids=()
  shift
  for ((r = 0; r < world; r++)); do
    RANK=$r WORLD_SIZE=$world LOCAL_RANK=$r LOCAL_WORLD_SIZE=$world MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$bin" "$@" >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
