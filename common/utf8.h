// UTF-8 validity, for text that comes from binary files (GGUF metadata) before it reaches JSON,
// whose writer refuses invalid UTF-8 with a message that names no file or key.
// Must not include torch.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace symtune {

// The byte offset of the first byte that does not belong to a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or nullopt if all do.
std::optional<size_t> first_invalid_utf8(const std::string& text);

}  // namespace symtune
