// Runs f(T{}) with T the C++ type of a floating tensor (float, c10::BFloat16 or c10::Half), for
// the hand-written CPU loops and CUDA kernels; any other dtype is an Error that says
// "<what> must be fp32, bf16 or fp16". Usable from nvcc and the C++ compiler alike.
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <string>

#include "common/error.h"

namespace symtune {

template <typename F>
void dispatch_float_type(c10::ScalarType type, const char* what, F&& f) {
  switch (type) {
    case c10::ScalarType::Float:
      f(float{});
      break;
    case c10::ScalarType::BFloat16:
      f(c10::BFloat16{});
      break;
    case c10::ScalarType::Half:
      f(c10::Half{});
      break;
    default:
      throw Error(std::string(what) + " must be fp32, bf16 or fp16");
  }
}

}  // namespace symtune
