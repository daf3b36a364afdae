"""The llama.cpp runner under the engine's scheduler, on the demo's own GGUF file (Q4_1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelport.engine import EngineConfig, GenerationEngine, SamplingParams
from modelport.errors import ContextLengthExceededError, InvalidRequestError, PackageError

llama_cpp = pytest.importorskip("llama_cpp")

from modelport.engine.llama import (  # noqa: E402
    LlamaModel,
    check_gguf,
    cpu_has_amx,
    llama_runner,
)

GREEDY = SamplingParams(max_new_tokens=24, temperature=0.0)


@pytest.fixture(scope="module")
def tokenizer(demo_gguf: Path) -> Any:
    from modelport.flavors.gguf.save import gguf_tokenizer

    return gguf_tokenizer(demo_gguf)


@pytest.fixture(scope="module")
def engine(demo_gguf: Path, tokenizer: Any) -> Iterator[GenerationEngine]:
    model = LlamaModel(demo_gguf)
    config = EngineConfig(max_batch_size=8)
    with GenerationEngine(model, tokenizer, config, runner=llama_runner(model, config)) as engine:
        yield engine


def chat(tokenizer: Any, question: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=False
    )
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids


def run(engine: GenerationEngine, prompt: list[int], params: SamplingParams) -> list[list[int]]:
    handle = engine.submit(prompt, params)
    list(handle)
    return [list(ids) for ids in handle.completion_tokens]


def own_greedy(path: Path, prompt: list[int], count: int) -> list[int]:
    """llama.cpp's own single-sequence greedy decoding, through its C API, no modelport code."""
    lib = llama_cpp
    model = lib.llama_model_load_from_file(str(path).encode(), lib.llama_model_default_params())
    params = lib.llama_context_default_params()
    params.n_ctx, params.n_batch, params.flash_attn = 512, 512, True
    context = lib.llama_init_from_model(model, params)
    vocab = lib.llama_model_get_vocab(model)
    size = lib.llama_vocab_n_tokens(vocab)
    out: list[int] = []
    tokens = list(prompt)
    try:
        while len(out) < count:
            array = (lib.llama_token * len(tokens))(*tokens)
            assert lib.llama_decode(context, lib.llama_batch_get_one(array, len(tokens))) == 0
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(context, -1), shape=(size,))
            token = int(logits.argmax())
            if lib.llama_vocab_is_eog(vocab, token):
                break
            out.append(token)
            tokens = [token]
    finally:
        lib.llama_free(context)
        lib.llama_model_free(model)
    return out


def test_greedy_equals_llama_cpps_own_single_sequence_greedy(
    engine: GenerationEngine, tokenizer: Any, demo_gguf: Path
) -> None:
    prompt = chat(tokenizer, "Write a haiku about the sea.")
    (ours,) = run(engine, prompt, GREEDY)
    assert len(ours) > 5
    assert ours == own_greedy(demo_gguf, prompt, len(ours))


# The top two tokens' logprobs closer than this are a tie that the order of llama.cpp's sums may
# break either way: its cache places a row's cells wherever there is room, so attention adds
# them in another order when other rows come and go (gaps measured at such flips: 0.016-0.11).
NEAR_TIE = 0.3


def agree_but_for_near_ties(
    engine: GenerationEngine, prompt: list[int], alone: list[int], other: list[int]
) -> None:
    """``other`` equals ``alone``, or first differs where ``alone`` chose between near-equals."""
    first = next((i for i, (a, b) in enumerate(zip(alone, other, strict=False)) if a != b), None)
    if first is None:
        assert len(alone) == len(other)
        return
    handle = engine.submit(prompt, SamplingParams(first + 1, 0.0, logprobs=2))
    logprobs = [item for event in handle for item in event.logprobs or []]
    (best, best_lp), (second, second_lp) = logprobs[first].top[:2]
    assert {best, second} == {alone[first], other[first]}
    assert best_lp - second_lp < NEAR_TIE, f"token {first} differs and is no tie"


def test_batched_rows_equal_each_alone(engine: GenerationEngine, tokenizer: Any) -> None:
    prompts = [chat(tokenizer, q) for q in ("What is 2+2?", "Name a color.", "Say hello.")] * 2
    alone = [run(engine, p, GREEDY)[0] for p in prompts]
    handles = [engine.submit(p, GREEDY) for p in prompts]
    for handle in handles:
        list(handle)
    assert engine.stats()["peak_running_sequences"] >= 2
    exact = 0
    for prompt, single, handle in zip(prompts, alone, handles, strict=True):
        batched = list(handle.completion_tokens[0])
        exact += batched == single
        agree_but_for_near_ties(engine, prompt, single, batched)
    assert exact >= 2  # most rows match exactly; a different prompt's row never leaks in


def test_n_rows_share_the_prompt_and_seeds_repeat(engine: GenerationEngine, tokenizer: Any) -> None:
    prompt = chat(tokenizer, "Tell me a story.")
    params = SamplingParams(max_new_tokens=16, temperature=1.0, seed=3, n=3)
    first = run(engine, prompt, params)
    assert len(first) == 3 and len({tuple(ids) for ids in first}) > 1
    assert run(engine, prompt, params) == first
    greedy_n = run(engine, prompt, SamplingParams(max_new_tokens=8, temperature=0.0, n=2))
    assert greedy_n[0] == greedy_n[1] == run(engine, prompt, SamplingParams(8, 0.0))[0]


def test_stop_strings_end_the_text(engine: GenerationEngine, tokenizer: Any) -> None:
    prompt = chat(tokenizer, "Count from 1 to 10, separated by commas.")
    full = "".join(e.text for e in engine.submit(prompt, SamplingParams(40, 0.0)))
    assert "3" in full
    cut = full[: full.index("3")]
    handle = engine.submit(prompt, SamplingParams(40, 0.0, stop=("3",)))
    assert "".join(e.text for e in handle) == cut
    assert handle.finish_reasons == ["stop"]


def test_a_cancelled_request_frees_its_sequences(engine: GenerationEngine, tokenizer: Any) -> None:
    runner: Any = engine.runner
    free = len(runner._free) + len(runner.prefixes)
    other = engine.submit(chat(tokenizer, "Write a poem."), SamplingParams(60, 1.0, seed=1))
    handle = engine.submit(chat(tokenizer, "Tell me a long story."), SamplingParams(200, 1.0, n=2))
    next(iter(handle))
    handle.cancel()  # its two rows leave while the other request's row runs on
    list(handle)
    list(other)
    assert engine.stats()["running_sequences"] == 0
    assert len(runner._free) + len(runner.prefixes) == free


def test_a_shared_system_prompt_is_prefilled_once(engine: GenerationEngine, tokenizer: Any) -> None:
    system = {"role": "system", "content": "You are a terse assistant who answers in one word."}

    def ids(question: str) -> list[int]:
        text = tokenizer.apply_chat_template(
            [system, {"role": "user", "content": question}],
            add_generation_prompt=True,
            tokenize=False,
        )
        out: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
        return out

    before = engine.stats()["prefix_cache_hits"]
    answers = [run(engine, ids(q), GREEDY)[0] for q in ("Sky color?", "Grass color?", "Sky color?")]
    assert engine.stats()["prefix_cache_hits"] > before
    # from a reused prefix, the same tokens as from scratch
    agree_but_for_near_ties(engine, ids("Sky color?"), answers[0], answers[2])


def test_a_request_over_the_cache_is_refused(demo_gguf: Path, tokenizer: Any) -> None:
    model = LlamaModel(demo_gguf)
    config = EngineConfig(kv_cache_bytes=64 * model.cell_bytes_estimate())
    with GenerationEngine(model, tokenizer, config, runner=llama_runner(model, config)) as small:
        cells = small.runner.cells  # llama.cpp rounds the context up (to 256 here)
        assert small.kv_cache_bytes == cells * small.runner.cell_bytes
        with pytest.raises(ContextLengthExceededError, match="KV cache"):
            small.submit(chat(tokenizer, "Hello there, how are you?"), SamplingParams(cells, 0.0))
        assert run(small, [1, 2, 3], SamplingParams(4, 0.0))  # a small one still runs


def test_settings_llama_cpp_cannot_take_are_refused(demo_gguf: Path) -> None:
    model = LlamaModel(demo_gguf)
    try:
        with pytest.raises(InvalidRequestError, match="max_batch_size"):
            llama_runner(model, EngineConfig(max_batch_size=300))
        with pytest.raises(InvalidRequestError, match="kv_cache_bytes"):
            llama_runner(model, EngineConfig(kv_cache_bytes=10))
    finally:
        model.close()


def test_a_file_that_is_not_gguf_is_named(tmp_path: Path) -> None:
    fake = tmp_path / "weights.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(PackageError, match=r"weights\.gguf' is not a GGUF file"):
        check_gguf(fake)
    with pytest.raises(PackageError, match="cannot read the GGUF file"):
        LlamaModel(tmp_path / "missing.gguf")


def test_an_architecture_llama_cpp_does_not_know_is_named(tmp_path: Path) -> None:
    import gguf

    writer = gguf.GGUFWriter(tmp_path / "odd.gguf", "no-such-arch")
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(
        PackageError, match=r"cannot load 'odd\.gguf' \(architecture 'no-such-arch'"
    ):
        LlamaModel(tmp_path / "odd.gguf")


def test_repacked_matmuls_are_off_on_cpus_with_amx(
    demo_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    amx = tmp_path / "cpuinfo"
    amx.write_text("processor : 0\nflags : fpu sse avx512f amx_bf16 amx_tile amx_int8\n")
    plain = tmp_path / "plain"
    plain.write_text("processor : 0\nflags : fpu sse avx2\n")
    assert cpu_has_amx(amx) and not cpu_has_amx(plain)
    monkeypatch.setattr("modelport.engine.llama.CPUINFO", amx)
    model = LlamaModel(demo_gguf)
    try:
        assert model.repack is False
    finally:
        model.close()


def test_llama_cpp_logs_go_to_the_logger_not_stderr(
    demo_gguf: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    LlamaModel(demo_gguf).close()
    assert "llama_model_loader" not in capfd.readouterr().err


def test_the_context_is_unified_and_as_long_as_the_model(demo_gguf: Path) -> None:
    model = LlamaModel(demo_gguf)
    runner = llama_runner(model, EngineConfig())
    try:
        assert runner.cells == model.context_length == 8192
        assert runner.dtype == "Q4_1"
    finally:
        runner.close()
