// Where this process sits in a multi-process run, read from the launcher's environment:
//   torchrun:  RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//   SLURM:     SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE, and the first
//              host of SLURM_JOB_NODELIST as the rendezvous address (MASTER_ADDR overrides)
//   Open MPI:  OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE (MASTER_ADDR required)
// With none of them set: one process, rank 0 of 1. No torch here.
#pragma once

#include <string>

namespace symtune {

struct LaunchEnv {
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "single process";  // "torchrun", "slurm", "openmpi"
};

LaunchEnv read_launch_env();

// "node[01-04,07],gpu5" -> "node01": the first host of a SLURM node list.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace symtune
