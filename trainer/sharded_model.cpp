#include "trainer/sharded_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/StorageImpl.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "common/error.h"
#include "model/transformer.h"
#include "trainer/communicator.h"

namespace symtune {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct UnitRef : torch::CustomClassHolder {
  UnitRef(ShardedModel* m, int64_t u) : model(m), unit(u) {}
  ShardedModel* model;
  int64_t unit;
};

// shard [L] -> the unit's full tensors; in backward, their gradients reduce-scattered back into
// a gradient of the shard.
struct GatherFunction : torch::autograd::Function<GatherFunction> {
  static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<UnitRef> ref, const at::Tensor& /*shard*/) {
    ctx->saved_data["unit"] = c10::IValue::make_capsule(ref);
    return ref->model->gather_unit(ref->unit);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto ref = c10::static_intrusive_pointer_cast<UnitRef>(ctx->saved_data["unit"].toCapsule());
    return {at::Tensor(), ref->model->reduce_scatter_unit(ref->unit, grads)};
  }
};

// Frees the memory of a gathered unit (one buffer, all its tensors views of it) while autograd
// keeps the tensors saved for backward; refill_storage gives the buffer its memory and data back
// before that backward reads it.
void release_storage(const at::Tensor& t) {
  c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  s->set_data_ptr_noswap(s->allocator()->allocate(0));
  s->set_nbytes(0);
}

void refill_storage(const at::Tensor& t, const at::Tensor& flat) {
  c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  const size_t bytes = static_cast<size_t>(flat.numel()) * flat.element_size();
  s->set_data_ptr_noswap(s->allocator()->allocate(bytes));
  s->set_nbytes(bytes);
  // Written through an alias of the storage, so the saved tensors' version does not change.
  at::Tensor alias = at::empty({0}, flat.options());
  alias.set_(t.storage(), 0, {flat.numel()}, {1});
  alias.copy_(flat);
}

}  // namespace

struct ShardedModel::Prefetch {
  int64_t unit = -1;
  at::Tensor flat;
  c10::intrusive_ptr<c10d::Work> work;
};

ShardedModel::ShardedModel(ShardLayout layout, Communicator& group, c10::Device device, at::ScalarType dtype)
    : layout_(std::move(layout)), group_(group), device_(device), dtype_(dtype) {
  if (layout_.shards() != group_.world_size())
    throw Error("sharding: a layout of " + std::to_string(layout_.shards()) + " shards on a group of " +
                std::to_string(group_.world_size()) + " ranks");
  for (const ShardUnit& u : layout_.units())
    shards_.push_back(
        at::zeros({u.shard_numel}, at::TensorOptions().dtype(dtype_).device(device_)).requires_grad_(true));
}

ShardedModel::~ShardedModel() = default;

int64_t ShardedModel::rank() const { return group_.rank(); }

void ShardedModel::attach(Transformer& model) {
  slots_.clear();
  for (const WeightSlot& s : weight_slots(model.config(), model.weights())) slots_.push_back(s.tensor);
  if (slots_.size() != layout_.tensors().size()) throw Error("sharding: the model's tensors differ from the layout's");
}

void ShardedModel::fill(const std::function<at::Tensor(size_t, int64_t, int64_t)>& read) {
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < layout_.tensors().size(); ++k) {
    const TensorPiece p = layout_.piece(k, rank());
    if (p.size() == 0) continue;
    piece(k).copy_(read(k, p.begin, p.end).reshape({-1}));
  }
}

at::Tensor ShardedModel::piece(size_t tensor) const {
  const TensorPiece p = layout_.piece(tensor, rank());
  return shards_[layout_.tensors()[tensor].unit].narrow(0, p.shard_offset, p.size());
}

at::Tensor ShardedModel::grad_piece(size_t tensor) const {
  const at::Tensor& grad = shards_[layout_.tensors()[tensor].unit].grad();
  if (!grad.defined()) return grad;
  const TensorPiece p = layout_.piece(tensor, rank());
  return grad.narrow(0, p.shard_offset, p.size());
}

at::Tensor ShardedModel::fetch_flat(int64_t unit) {
  if (pending_ && pending_->unit == unit) {
    group_.wait(pending_->work);
    at::Tensor flat = std::move(pending_->flat);
    pending_.reset();
    return flat;
  }
  drain_prefetch();  // another unit's (a forward cut short): collectives stay in order
  at::NoGradGuard no_grad;
  at::Tensor flat = at::empty({layout_.shards() * layout_.units()[unit].shard_numel}, shards_[unit].options());
  at::Tensor shard = shards_[unit].detach();
  group_.wait(group_.all_gather_async(flat, shard));
  return flat;
}

void ShardedModel::prefetch(int64_t unit) {
  if (!prefetch_ || unit < 1 || unit >= static_cast<int64_t>(shards_.size()) || pending_) return;
  at::NoGradGuard no_grad;
  pending_ = std::make_unique<Prefetch>();
  pending_->unit = unit;
  pending_->flat = at::empty({layout_.shards() * layout_.units()[unit].shard_numel}, shards_[unit].options());
  at::Tensor shard = shards_[unit].detach();
  pending_->work = group_.all_gather_async(pending_->flat, shard);
}

void ShardedModel::drain_prefetch() {
  if (!pending_) return;
  group_.wait(pending_->work);
  pending_.reset();
}

// The unit's tensors as views of the one gathered buffer (after_block frees it whole).
std::vector<at::Tensor> ShardedModel::gather_unit(int64_t unit) {
  const at::Tensor flat = fetch_flat(unit);
  std::vector<at::Tensor> out;
  for (size_t k : layout_.units()[unit].tensors) {
    const ShardedTensor& t = layout_.tensors()[k];
    out.push_back(flat.narrow(0, t.offset, t.numel).view(t.shape));
  }
  return out;
}

at::Tensor ShardedModel::reduce_scatter_unit(int64_t unit, const std::vector<at::Tensor>& full_grads) {
  at::NoGradGuard no_grad;
  const ShardUnit& u = layout_.units()[unit];
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device_);
  at::Tensor flat = at::empty({layout_.shards() * u.shard_numel}, f32);
  flat.narrow(0, u.numel, flat.numel() - u.numel).zero_();
  for (size_t i = 0; i < u.tensors.size(); ++i) {
    const ShardedTensor& t = layout_.tensors()[u.tensors[i]];
    at::Tensor dst = flat.narrow(0, t.offset, t.numel);
    if (i < full_grads.size() && full_grads[i].defined()) dst.copy_(full_grads[i].reshape({-1}));
    else dst.zero_();
  }
  at::Tensor shard = at::empty({u.shard_numel}, f32);
  group_.wait(group_.reduce_scatter_sum_async(shard, flat));
  return shard.to(dtype_);
}

void ShardedModel::assign(int64_t unit, const std::vector<at::Tensor>& full) {
  const auto& members = layout_.units()[unit].tensors;
  for (size_t i = 0; i < members.size(); ++i) *slots_[members[i]] = full[i];
}

void ShardedModel::gather_outer() {
  last_block_ = -1;
  if (outer_gathered_ && !at::GradMode::is_enabled()) return;
  if (at::GradMode::is_enabled()) assign(0, GatherFunction::apply(c10::make_intrusive<UnitRef>(this, 0), shards_[0]));
  else assign(0, gather_unit(0));
  outer_gathered_ = true;
}

void ShardedModel::release_outer() {
  for (size_t k : layout_.units()[0].tensors) *slots_[k] = at::Tensor();
  outer_gathered_ = false;
  drain_prefetch();
}

void ShardedModel::gather_block(int64_t layer) {
  const int64_t unit = layer + 1;
  const bool backward = last_block_ >= layer;  // a checkpointed block recomputed in backward
  current_ = at::GradMode::is_enabled() ? GatherFunction::apply(c10::make_intrusive<UnitRef>(this, unit), shards_[unit])
                                        : gather_unit(unit);
  assign(unit, current_);
  last_block_ = layer;
  prefetch(backward ? unit - 1 : unit + 1);
}

at::Tensor ShardedModel::after_block(int64_t layer, const at::Tensor& output) {
  const int64_t unit = layer + 1;
  for (size_t k : layout_.units()[unit].tensors) *slots_[k] = at::Tensor();
  std::vector<at::Tensor> gathered = std::move(current_);
  current_.clear();
  const bool recorded =
      at::GradMode::is_enabled() && output.requires_grad() && !gathered.empty() && gathered[0].requires_grad();
  if (!reshard_after_forward_ || !recorded) return output;
  release_storage(gathered[0]);  // every tensor of the unit shares the buffer
  // The hook runs when the block's output gradient is ready, before any of the block's own
  // backward: the moment to bring its weights back.
  auto held = std::make_shared<std::vector<at::Tensor>>(std::move(gathered));
  output.register_hook([this, unit, held](const at::Tensor&) {
    refill(unit, *held);
    held->clear();  // autograd's saved tensors keep the memory until the block's backward is done
  });
  return output;
}

void ShardedModel::refill(int64_t unit, const std::vector<at::Tensor>& released) {
  at::NoGradGuard no_grad;
  refill_storage(released[0], fetch_flat(unit));
  prefetch(unit - 1);
}

std::vector<at::Tensor> ShardedModel::block_leaves(int64_t layer) { return {shards_[layer + 1]}; }

}  // namespace symtune
