"""What the process-level test scripts share: named checks that print ok/FAIL lines and end with
the 'N passed, M failed' line CTest and CI read, and the tiny Llama-shaped model they train."""
import sys

_failures, _passed = [], 0


def check(ok, what, detail=""):
    global _passed
    print(("ok: " if ok else "FAIL: ") + what + (f" ({detail})" if detail and not ok else ""), flush=True)
    if ok:
        _passed += 1
    else:
        _failures.append(what)


def finish():
    print(f"{_passed} passed, {len(_failures)} failed")
    sys.exit(1 if _failures else 0)


def tiny_llama_init_config(tied=True):
    """A 2-layer, 32-wide Llama over the byte tokenizer: trains in milliseconds a step."""
    return {"architectures": ["LlamaForCausalLM"], "vocab_size": 259, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": tied,
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
