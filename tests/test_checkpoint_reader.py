"""The checkpoint reader, fuzzed: random bytes, truncations and bit flips of a real checkpoint all give
CheckpointError (never another exception, a hang, or silently wrong weights)."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as safetensors_bytes

import ganzoo
from ganzoo.errors import CheckpointError
from ganzoo.storage.checkpoint import DIGEST_KEY, FORMAT, _digest, decode_checkpoint, encode_checkpoint, read_checkpoint

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
NAME = "fuzzed.safetensors"


@pytest.fixture(scope="module")
def real() -> bytes:
    """A real checkpoint of a tiny run (a few hundred KB)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        result = ganzoo.train("dcgan", steps=2, out=Path(tmp) / "run", progress=False, g_width=8, d_width=8, latent_dim=16)
        return result.checkpoint.read_bytes()


def refused(data: bytes) -> bool:
    try:
        decode_checkpoint(data, NAME)
    except CheckpointError:
        return True
    return False


def test_the_real_checkpoint_reads_back(real):
    checkpoint = decode_checkpoint(real, NAME)
    assert checkpoint.step == 2 and checkpoint.meta["model"] == "dcgan"
    again = decode_checkpoint(encode_checkpoint(checkpoint.tensors, checkpoint.meta), NAME)
    assert again.meta == checkpoint.meta and all(torch.equal(again.tensors[k], v) for k, v in checkpoint.tensors.items())


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused(data):
    assert refused(data)


@FUZZ
@given(st.binary(max_size=512), st.integers(min_value=0, max_value=600))
def test_random_bytes_behind_a_plausible_header_length_are_refused(body, size):
    assert refused(struct.pack("<Q", size) + body)


header_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(st.dictionaries(st.text(max_size=12), header_values, max_size=5), st.binary(max_size=256))
def test_random_json_headers_are_refused(header, body):
    encoded = json.dumps(header).encode()
    assert refused(struct.pack("<Q", len(encoded)) + encoded + body)


tensor_entries = st.fixed_dictionaries({}, optional={
    "dtype": st.sampled_from(["F32", "I64", "U8", "BOOL", "F99", ""]) | header_values,
    "shape": st.lists(st.integers(min_value=-2, max_value=70), max_size=3) | header_values,
    "data_offsets": st.lists(st.integers(min_value=-2, max_value=300), max_size=3) | header_values,
})


@FUZZ
@given(st.dictionaries(st.text(max_size=8), tensor_entries, max_size=4), header_values, st.binary(max_size=256),
       st.booleans())
def test_ganzoo_headers_with_random_tensors_and_metadata_are_refused(entries, meta, body, good_digest):
    """Past the format check and (with ``good_digest``) the checksum: safetensors and the metadata checks must refuse."""
    entries.pop("__metadata__", None)
    header = {"__metadata__": {"format": FORMAT, "format_version": "2", "meta": json.dumps(meta)}, **entries}
    if good_digest:
        header["__metadata__"][DIGEST_KEY] = _digest(header, body)
    encoded = json.dumps(header).encode()
    assert refused(struct.pack("<Q", len(encoded)) + encoded + body)


@FUZZ
@given(st.data())
def test_every_truncation_is_refused(real, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(real) - 1))
    assert refused(real[:cut])


@FUZZ
@given(st.data())
def test_every_single_bit_flip_is_refused(real, data):
    """The digest covers the header and every tensor byte, so no flip goes unnoticed."""
    bit = data.draw(st.integers(min_value=0, max_value=len(real) * 8 - 1))
    flipped = bytearray(real)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert refused(bytes(flipped))


@FUZZ
@given(st.data())
def test_bit_flips_in_the_header_are_refused(real, data):
    """Most of the file is tensor data; aim at the header (length, JSON, metadata) too."""
    (size,) = struct.unpack("<Q", real[:8])
    bit = data.draw(st.integers(min_value=0, max_value=(8 + size) * 8 - 1))
    flipped = bytearray(real)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert refused(bytes(flipped))


@FUZZ
@given(st.data())
def test_overwritten_spans_are_refused(real, data):
    start = data.draw(st.integers(min_value=0, max_value=len(real) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=64))
    damaged = real[:start] + junk + real[start + len(junk):]
    if damaged != real:
        assert refused(damaged)


def test_a_version_1_checkpoint_without_a_digest_still_reads(real, tmp_path):
    checkpoint = decode_checkpoint(real, NAME)
    metadata = {"format": FORMAT, "format_version": "1", "meta": json.dumps(checkpoint.meta)}
    path = tmp_path / "old.safetensors"
    path.write_bytes(safetensors_bytes(checkpoint.tensors, metadata=metadata))
    old = read_checkpoint(path)
    assert old.step == 2 and all(torch.equal(old.tensors[k], checkpoint.tensors[k]) for k in checkpoint.tensors)


def test_a_newer_format_is_refused_with_advice(real):
    checkpoint = decode_checkpoint(real, NAME)
    metadata = {"format": FORMAT, "format_version": "99", "meta": json.dumps(checkpoint.meta)}
    with pytest.raises(CheckpointError, match="format '99' is not one this ganzoo reads .*upgrade ganzoo"):
        decode_checkpoint(safetensors_bytes(checkpoint.tensors, metadata=metadata), NAME)


def test_metadata_missing_what_readers_need_is_refused(real):
    checkpoint = decode_checkpoint(real, NAME)
    for key in ("step", "model", "config", "data_info"):
        meta = {k: v for k, v in checkpoint.meta.items() if k != key}
        with pytest.raises(CheckpointError, match="metadata is incomplete"):
            decode_checkpoint(encode_checkpoint(checkpoint.tensors, meta), NAME)


def test_a_directory_or_unreadable_path_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        read_checkpoint(tmp_path)
