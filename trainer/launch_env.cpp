#include "trainer/launch_env.h"

#include <cstdlib>

#include "common/error.h"

namespace symtune {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < 0)
    throw Error(std::string("environment: ") + name + "='" + v + "' is not a non-negative integer");
  return static_cast<int>(x);
}
}  // namespace

std::string first_slurm_host(const std::string& list) {
  // Up to the first comma outside brackets; a bracket range keeps its first member.
  std::string host;
  size_t i = 0;
  while (i < list.size() && list[i] != ',' && list[i] != '[') host += list[i++];
  if (i < list.size() && list[i] == '[') {
    ++i;
    while (i < list.size() && list[i] != '-' && list[i] != ',' && list[i] != ']') host += list[i++];
  }
  return host;
}

LaunchEnv read_launch_env() {
  LaunchEnv e;
  if (env("RANK") && env("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.rank = env_int("RANK", 0);
    e.world_size = env_int("WORLD_SIZE", 1);
    e.local_rank = env_int("LOCAL_RANK", e.rank);
    e.local_world_size = env_int("LOCAL_WORLD_SIZE", e.world_size);
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = env_int("SLURM_PROCID", 0);
    e.world_size = env_int("SLURM_NTASKS", 1);
    e.local_rank = env_int("SLURM_LOCALID", 0);
    if (const char* per_node = env("SLURM_NTASKS_PER_NODE")) e.local_world_size = std::atoi(per_node);  // "4(x2)" -> 4
    if (const char* nodes = env("SLURM_JOB_NODELIST")) e.master_addr = first_slurm_host(nodes);
  } else if (env("OMPI_COMM_WORLD_RANK") && env("OMPI_COMM_WORLD_SIZE")) {
    e.launcher = "openmpi";
    e.rank = env_int("OMPI_COMM_WORLD_RANK", 0);
    e.world_size = env_int("OMPI_COMM_WORLD_SIZE", 1);
    e.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    e.local_world_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    if (e.world_size > 1 && !env("MASTER_ADDR"))
      throw Error("environment: Open MPI launch without MASTER_ADDR; set it to the host of rank 0");
  }
  if (const char* addr = env("MASTER_ADDR")) e.master_addr = addr;
  e.master_port = env_int("MASTER_PORT", e.master_port);
  if (e.world_size < 1 || e.rank >= e.world_size)
    throw Error("environment (" + e.launcher + "): rank " + std::to_string(e.rank) + " is outside a world of " +
                std::to_string(e.world_size));
  return e;
}

}  // namespace symtune
