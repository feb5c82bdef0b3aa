// Builds without CUDA (or without nvcc) have no fused Adafactor kernels; CUDA parameters asking
// for the fused update are refused before it could be called.
#include "common/error.h"
#include "optim/adafactor_fused.h"

namespace symtune {

bool fused_adafactor_compiled() { return false; }

void fused_adafactor_update_cuda(const FusedAdafactorTensors&, const FusedAdafactorScalars&) {
  throw Error("adafactor: the fused CUDA update is not compiled into this build");
}

}  // namespace symtune
