// Builds without CUDA (or without nvcc) have no fused Adafactor; Adafactor::step never calls
// it there, and asking for it by name is refused before it could be.
#include "common/error.h"
#include "optim/adafactor_fused.h"

namespace symtune {

bool fused_adafactor_compiled() { return false; }

void fused_adafactor_update(const FusedAdafactorTensors&, const FusedAdafactorScalars&) {
  throw Error("adafactor: the fused CUDA update is not compiled into this build");
}

}  // namespace symtune
