// The byte tokenizer: one token per UTF-8 byte (ids 3..258) plus pad 0, BOS 1, EOS 2. It needs
// no file at all, which is what a model initialised by symtune itself starts with; a model
// directory declares it with symtune_tokenizer.json {"type": "bytes"}.
#include "data/tokenizer.h"

namespace symtune {
namespace {

class ByteTokenizer : public Tokenizer {
 public:
  ByteTokenizer() { special_ = {1, 2, 0}; }
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids;
    ids.reserve(text.size());
    for (unsigned char ch : text) ids.push_back(static_cast<int64_t>(ch) + 3);
    return ids;
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string text;
    for (int64_t id : ids)
      if (id >= 3 && id < 259) text += static_cast<char>(id - 3);
    return text;
  }
  int64_t vocab_size() const override { return 259; }
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

}  // namespace symtune
