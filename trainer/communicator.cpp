#include "trainer/communicator.h"

#include <csignal>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
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

c10::intrusive_ptr<c10d::Backend> make_backend(const c10::intrusive_ptr<c10d::Store>& store, const LaunchEnv& env,
                                               bool cuda, std::chrono::milliseconds timeout) {
  if (cuda) {
#ifdef USE_C10D_NCCL
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, options);
#else
    throw Error(where(env) +
                ": a multi-GPU run needs ProcessGroupNCCL, and this build has none (build against a "
                "CUDA LibTorch with USE_C10D_NCCL)");
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
}

}  // namespace

Communicator::Communicator(const LaunchEnv& env, bool cuda, std::chrono::milliseconds timeout)
    : env_(env), timeout_(timeout), cuda_(cuda) {
  if (env_.launcher == "single process") return;
  // A peer that died closes its sockets; writing to one must fail as an error that names this
  // rank (Gloo and the store throw), not kill the process with SIGPIPE, as Python-hosted PyTorch
  // never sees it either.
  std::signal(SIGPIPE, SIG_IGN);
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env_.master_port);
  store_options.isServer = env_.rank == 0;
  store_options.numWorkers = static_cast<size_t>(env_.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout_;
  try {
    store_ = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error(where(env_) + ": rendezvous at " + env_.master_addr + ":" + std::to_string(env_.master_port) +
                " failed within " + std::to_string(timeout_.count() / 1000) + " s: " + e.what());
  }
  backend_ = make_backend(store_, env_, cuda_, timeout_);
}

Communicator::Communicator(const LaunchEnv& env, std::chrono::milliseconds timeout,
                           c10::intrusive_ptr<c10d::Store> store, bool cuda)
    : env_(env), timeout_(timeout), cuda_(cuda), store_(std::move(store)) {
  backend_ = make_backend(store_, env_, cuda_, timeout_);
}

std::unique_ptr<Communicator> Communicator::subgroup(const std::string& name, const std::vector<int>& members) const {
  LaunchEnv env = env_;
  env.world_size = static_cast<int>(members.size());
  env.rank = -1;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i] == env_.rank) env.rank = static_cast<int>(i);
  if (env.rank < 0) throw Error(where(env_) + ": not a member of process group '" + name + "'");
  if (!store_) {  // one process without a launcher: the group is itself
    env.rank = 0;
    env.world_size = 1;
    return std::unique_ptr<Communicator>(new Communicator(env, cuda_, timeout_));
  }
  auto store = c10::make_intrusive<c10d::PrefixStore>("group/" + name, store_);
  return std::unique_ptr<Communicator>(new Communicator(env, timeout_, store, cuda_));
}

void Communicator::count(Kind kind, const at::Tensor& whole, double factor) {
  const double n = world_size();
  traffic_[kind] += factor * (n - 1) / n * static_cast<double>(whole.numel() * whole.element_size());
}

c10::intrusive_ptr<c10d::Work> Communicator::all_gather_async(at::Tensor& out, at::Tensor& in) {
  if (!backend_) {
    out.copy_(in);
    return {};
  }
  count(kAllGather, out, 1);
  return backend_->_allgather_base(out, in);
}

c10::intrusive_ptr<c10d::Work> Communicator::reduce_scatter_sum_async(at::Tensor& out, at::Tensor& in) {
  if (!backend_) {
    out.copy_(in);
    return {};
  }
  count(kReduceScatter, in, 1);
  return backend_->_reduce_scatter_base(out, in);
}

Communicator::~Communicator() = default;

c10::intrusive_ptr<c10d::Work> Communicator::all_reduce_sum_async(at::Tensor& t) {
  if (!backend_) return {};
  count(kAllReduce, t, 2);
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
