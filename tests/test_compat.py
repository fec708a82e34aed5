"""An artifact refuses to load where it would misbehave, with a sentence per reason; a
damaged or foreign file is refused before it is ever mapped."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

import aot
from aot.abi.fingerprint import append_trailer, read_trailer
from tests.conftest import wat

MODULE = '(module (func (export "f") (result i32) (i32.const 7)))'


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("compat") / "m.so"
    aot.compile_file(wat(MODULE), path)
    return path


def with_fingerprint(src, dst, **changes):
    data = src.read_bytes()
    elf_end, fp = read_trailer(data)
    dst.write_bytes(append_trailer(data[:elf_end], dataclasses.replace(fp, **changes)))
    return dst


def refused(path, *fragments, **expect):
    with pytest.raises(aot.ArtifactError) as info:
        aot.load(path, **expect)
    for fragment in fragments:
        assert fragment in str(info.value)
    return str(info.value)


def test_two_compiles_give_byte_identical_artifacts():
    wasm = (__import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "example.wasm").read_bytes()
    first = aot.compile_artifact(wasm)
    assert aot.compile_artifact(wasm) == first
    assert aot.compile_artifact(wasm, aot.CompileOptions(opt_level=0)) != first


def test_intact_artifact_loads(artifact):
    assert aot.load(artifact).instantiate().exports.f() == 7


def test_other_aot_version(artifact, tmp_path):
    bad = with_fingerprint(artifact, tmp_path / "v.so", aot_version="0.0.1")
    from aot.version import full_version

    refused(bad, f"compiled by aot 0.0.1, this is aot {full_version()}")


def test_other_llvm_version(artifact, tmp_path):
    bad = with_fingerprint(artifact, tmp_path / "l.so", llvm_version="17.0.6",
                           llvmlite_version="0.42.0")
    refused(bad, "compiled with LLVM 17.0.6, this aot uses LLVM")


def test_same_llvmlite_means_same_llvm(artifact, tmp_path):
    """The loader does not load LLVM to learn its version when the artifact was built
    with this very llvmlite release (which carries one LLVM)."""
    import llvmlite

    from aot.loader import compat

    _, fp = read_trailer(artifact.read_bytes())
    assert fp.llvmlite_version == llvmlite.__version__
    assert compat._same_llvm(fp)
    older = with_fingerprint(artifact, tmp_path / "o.so", llvmlite_version="")
    assert aot.load(older).instantiate() is not None  # compared the LLVM versions: equal


def test_other_architecture(artifact, tmp_path):
    bad = with_fingerprint(artifact, tmp_path / "a.so", triple="aarch64-unknown-linux-gnu")
    refused(bad, "compiled for aarch64-unknown-linux-gnu, this machine is x86_64")


def test_cpu_features_this_cpu_lacks(artifact, tmp_path):
    _, fp = read_trailer(artifact.read_bytes())
    bad = with_fingerprint(artifact, tmp_path / "c.so", cpu="x86-64-v4",
                           features=(*fp.features, "avx512f", "nonexistent-feature"))
    refused(bad, "compiled for x86_64 (x86-64-v4) with", "nonexistent-feature", "which this CPU lack")


def test_options_the_loader_requires(artifact):
    refused(artifact, "compiled without fuel but fuel is enabled", fuel=True)
    refused(artifact, "compiled with bounds_checks='guard' but bounds_checks='explicit' is required",
            bounds_checks="explicit")
    assert aot.load(artifact, fuel=False, interrupts=True).instantiate().exports.f() == 7


def test_truncated_files(artifact, tmp_path):
    data = artifact.read_bytes()
    for n in (0, 3, 64, len(data) // 2, len(data) - 13, len(data) - 1):
        cut = tmp_path / f"t{n}.so"
        cut.write_bytes(data[:n])
        with pytest.raises(aot.ArtifactError):
            aot.load(cut)


def test_bit_flips_anywhere(artifact, tmp_path):
    data = bytearray(artifact.read_bytes())
    rng = random.Random(1)
    for i in range(40):
        flipped = bytearray(data)
        pos = rng.randrange(len(flipped))
        flipped[pos] ^= 1 << rng.randrange(8)
        p = tmp_path / f"f{i}.so"
        p.write_bytes(bytes(flipped))
        with pytest.raises(aot.ArtifactError):
            aot.load(p)


def test_foreign_files(tmp_path):
    libm = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6")
                 if os.path.exists(p)), None)
    if libm:
        refused(libm, "not an aot artifact")
    junk = tmp_path / "junk.so"
    junk.write_bytes(os.urandom(4096))
    refused(junk, "not an ELF file")
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    refused(empty)
