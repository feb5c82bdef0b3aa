// The pre-tokenizers of byte-level BPE tokenizers: the text is cut into pieces by a family's
// pattern before merges apply, and an NFC normalizer may run first. Three patterns are known,
// matched by hand with ICU's Unicode classes (letters \p{L}, numbers \p{N}, White_Space \s):
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//            (GPT-2, SmolLM2)
//   kQwen2   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
//            |\s*[\r\n]+|\s+(?!\S)|\s+   (Qwen2, Qwen3: one digit a piece)
//   kLlama3  the same with \p{N}{1,3}    (Llama 3, SmolLM3, OLMo 2's cl100k-style tokenizer)
//   kO200k   [^\r\n\p{L}\p{N}]?[Lu Lt Lm Lo M]*[Ll Lm Lo M]+(?i:'s|...)?|[^\r\n\p{L}\p{N}]?[Lu Lt Lm Lo M]+
//            [Ll Lm Lo M]*(?i:'s|...)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//            (GPT-4o's o200k; Phi-4-mini: letters split where lower case turns upper)
// Must not include torch.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace symtune {

enum class PreTokenizerPattern { kGpt2, kQwen2, kLlama3, kO200k };

// The pattern an HF tokenizer.json's Split regex spells, or nullopt for any other.
std::optional<PreTokenizerPattern> pattern_of_regex(const std::string& regex);

std::vector<std::string> split_pretokens(const std::string& text, PreTokenizerPattern pattern);

// Unicode normalization form C (ICU), as HF's NFC normalizer.
std::string normalize_nfc(const std::string& text);

// One UTF-8 code point at s[i]; its length in `length`. Invalid bytes decode as U+FFFD of
// length 1, so every byte still reaches the byte-level table.
char32_t decode_utf8(const std::string& s, size_t i, size_t& length);

}  // namespace symtune
