#include "trainer/communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"

namespace symtune {

namespace {
std::string where(const LaunchEnv& env) {
  return "rank " + std::to_string(env.rank) + "/" + std::to_string(env.world_size);
}
}  // namespace

Communicator::Communicator(const LaunchEnv& env, bool cuda, std::chrono::milliseconds timeout)
    : env_(env), timeout_(timeout) {
  if (env_.launcher == "single process") return;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env_.master_port);
  store_options.isServer = env_.rank == 0;
  store_options.numWorkers = static_cast<size_t>(env_.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout_;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error(where(env_) + ": rendezvous at " + env_.master_addr + ":" + std::to_string(env_.master_port) +
                " failed within " + std::to_string(timeout_.count() / 1000) + " s: " + e.what());
  }
  if (cuda) {
#ifdef USE_C10D_NCCL
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout_;
    backend_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env_.rank, env_.world_size, options);
    return;
#else
    throw Error(where(env_) +
                ": a multi-GPU run needs ProcessGroupNCCL, and this build has none (build against a "
                "CUDA LibTorch with USE_C10D_NCCL)");
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
  options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  backend_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env_.rank, env_.world_size, options);
}

Communicator::~Communicator() = default;

c10::intrusive_ptr<c10d::Work> Communicator::all_reduce_sum_async(at::Tensor& t) {
  if (!backend_) return {};
  std::vector<at::Tensor> tensors{t};
  return backend_->allreduce(tensors);
}

void Communicator::wait(const c10::intrusive_ptr<c10d::Work>& work) const {
  if (!work) return;
  try {
    work->wait(timeout_);
  } catch (const std::exception& e) {
    throw Error(where(env_) + ": a collective failed or timed out after " + std::to_string(timeout_.count() / 1000) +
                " s (did another rank die or hang?): " + e.what());
  }
}

void Communicator::all_reduce_sum(at::Tensor& t) { wait(all_reduce_sum_async(t)); }

void Communicator::broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (!backend_) return;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    wait(backend_->broadcast(one, options));
  }
}

void Communicator::barrier() {
  if (!backend_) return;
  wait(backend_->barrier());
}

}  // namespace symtune
