"""What the process-level test scripts share: named checks that print ok/FAIL lines, prerequisites
that skip (or, under CI, fail), the closing 'N passed, M failed, K skipped' line, and the tiny
Llama-shaped model they train.

Exit status, as CTest reads it (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt):
  1   a check failed, or a prerequisite is missing under CI (CI=true);
  77  nothing failed but a part was skipped, or no check ran at all: the test did not check
      everything its name says, and CTest reports it as skipped with the reasons printed;
  0   every part ran and every check passed.
"""
import os
import sys

SKIP_RETURN_CODE = 77
_failures, _skipped, _passed = [], [], 0


def running_under_ci():
    return os.environ.get("CI", "").lower() in ("true", "1")


def check(ok, what, detail=""):
    global _passed
    print(("ok: " if ok else "FAIL: ") + what + (f" ({detail})" if detail and not ok else ""), flush=True)
    if ok:
        _passed += 1
    else:
        _failures.append(what)
    return ok


def need(available, what):
    """A prerequisite from outside the repository (shared data, a reference package, a model
    file). Returns whether it is there; when not, the part that needs it is skipped (printed),
    or under CI the script fails naming it."""
    if available:
        return True
    if running_under_ci():
        check(False, f"missing under CI=true: {what}")
    else:
        print(f"SKIPPED: {what} is missing (under CI=true this fails)", flush=True)
        _skipped.append(what)
    return False


def require_modules(*names):
    """Reference packages from PyPI a script cannot run without (torch, transformers, ...):
    when one is missing the script ends here, skipped (or failed under CI), naming it. Call it
    before importing them."""
    import importlib.util
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        need(False, "Python package(s) " + ", ".join(missing) + " (scripts/setup.sh installs them in .venv)")
        finish()


def shared_data_dir():
    """$SYMTUNE_SHARED_DATA, else ../shared/data beside the repository (may not exist)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("SYMTUNE_SHARED_DATA", os.path.normpath(os.path.join(here, "..", "..", "..", "shared",
                                                                               "data")))


def finish():
    print(f"{_passed} passed, {len(_failures)} failed, {len(_skipped)} skipped part(s)"
          + (f": {'; '.join(_skipped)}" if _skipped else ""))
    if _failures:
        sys.exit(1)
    if _skipped or _passed == 0:
        if _passed == 0 and not _skipped:
            print("SKIPPED: no check ran")
        sys.exit(SKIP_RETURN_CODE)
    sys.exit(0)


def tiny_llama_init_config(tied=True):
    """A 2-layer, 32-wide Llama over the byte tokenizer: trains in milliseconds a step."""
    return {"architectures": ["LlamaForCausalLM"], "vocab_size": 259, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": tied,
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
