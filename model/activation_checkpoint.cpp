#include "model/activation_checkpoint.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace symtune {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Holds the block function between forward and backward (saved_data only stores IValues).
struct FunctionHolder : torch::CustomClassHolder {
  FunctionHolder(std::function<at::Tensor(const at::Tensor&)> f, std::vector<at::Tensor> p)
      : fn(std::move(f)), params(std::move(p)) {}
  std::function<at::Tensor(const at::Tensor&)> fn;
  std::vector<at::Tensor> params;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, c10::intrusive_ptr<FunctionHolder> holder, const at::Tensor& x,
                            at::TensorList params) {
    ctx->saved_data["fn"] = c10::IValue::make_capsule(holder);
    ctx->save_for_backward({x});
    // params are captured by fn itself; they are arguments here only so autograd routes
    // their gradients through this node.
    at::NoGradGuard no_grad;
    return holder->fn(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto holder = c10::static_intrusive_pointer_cast<FunctionHolder>(ctx->saved_data["fn"].toCapsule());
    at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor y;
    {
      at::AutoGradMode enable(true);
      y = holder->fn(x);
    }
    // Only tensors that need gradients can be asked for them; the rest get none.
    std::vector<at::Tensor> candidates{x};
    candidates.insert(candidates.end(), holder->params.begin(), holder->params.end());
    std::vector<at::Tensor> inputs;
    for (const auto& t : candidates)
      if (t.requires_grad()) inputs.push_back(t);
    variable_list grads = torch::autograd::grad({y}, inputs, {grad_outputs[0]}, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    variable_list out{at::Tensor()};  // the holder argument has no gradient
    size_t next = 0;
    for (const auto& t : candidates) out.push_back(t.requires_grad() ? grads[next++] : at::Tensor());
    return out;
  }
};

}  // namespace

at::Tensor checkpointed(std::function<at::Tensor(const at::Tensor&)> fn, const at::Tensor& x,
                        const std::vector<at::Tensor>& params) {
  if (!at::GradMode::is_enabled()) return fn(x);
  auto holder = c10::make_intrusive<FunctionHolder>(std::move(fn), params);
  return CheckpointFunction::apply(holder, x, at::TensorList(params));
}

}  // namespace symtune
