"""Batch compiles (issue 16): `aot compile a.wasm b.wasm … -o DIR -j N` and
`aot.compile_many`: one artifact per module, failures named, the others still land."""

from __future__ import annotations

import pytest

import aot
from aot.cli import main
from tests.conftest import wat


def _modules(folder, n: int = 7):
    paths = []
    for i in range(n):
        path = folder / f"m{i}.wasm"
        path.write_bytes(wat(f'(module (func (export "f") (result i32) (i32.const {i * 11})))'))
        paths.append(path)
    bad = folder / "broken.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x01\x05")  # a type section cut short
    return paths, bad


def test_eight_modules_one_bad_the_others_land(tmp_path, capsys):
    paths, bad = _modules(tmp_path)
    out = tmp_path / "out"
    status = main(["compile", *map(str, paths[:4]), str(bad), *map(str, paths[4:]),
                   "-o", str(out), "-j", "2"])
    err = capsys.readouterr().err
    assert status == 1
    assert f"aot: error: {bad}: " in err and "at byte offset" in err  # named, with where
    assert "compiled 7 of 8 modules" in err
    for i, path in enumerate(paths):
        assert aot.load(out / f"{path.stem}.so").instantiate().exports.f() == i * 11
    assert not (out / "broken.so").exists()


def test_a_folder_compiles_every_module_under_it(tmp_path):
    (tmp_path / "src" / "sub").mkdir(parents=True)
    paths, bad = _modules(tmp_path / "src", 2)
    bad.unlink()
    (tmp_path / "src" / "sub" / "deep.wasm").write_bytes(paths[0].read_bytes())
    results = aot.compile_many([tmp_path / "src"], tmp_path / "out", jobs=2)
    assert [r.ok for r in results] == [True, True, True]
    assert aot.load(tmp_path / "out" / "sub" / "deep.so").instantiate().exports.f() == 0


def test_several_inputs_need_an_output_folder(tmp_path, capsys):
    paths, _ = _modules(tmp_path, 2)
    assert main(["compile", *map(str, paths)]) == 2
    assert "-o FOLDER" in capsys.readouterr().err


def test_two_inputs_that_would_write_one_artifact_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "same.wasm").write_bytes(wat("(module)"))
    with pytest.raises(aot.AotError, match="same.so"):
        aot.compile_many([tmp_path / "a" / "same.wasm", tmp_path / "b" / "same.wasm"],
                         tmp_path / "out")


def test_load_takes_an_artifacts_bytes_and_validate_checks_without_compiling(tmp_path):
    data = aot.compile_artifact(wat('(module (func (export "f") (result i32) (i32.const 5)))'))
    assert aot.load(data).instantiate().exports.f() == 5
    with pytest.raises(aot.ArtifactError):
        aot.load(data[:-1])
    assert aot.validate(wat("(module (func))")) is None
    with pytest.raises(aot.CompileError, match="type mismatch"):
        aot.validate(wat("(module (func (result i32)))"))  # wat2wasm parses, not validates


def test_a_modules_exports_have_their_types_before_instantiation():
    module = aot.compile(wat("""(module (import "e" "g" (global i64))
      (memory (export "mem") 1 2) (table (export "t") 3 externref)
      (global (export "g") (mut f32) (f32.const 0)) (global (export "again") i64 (global.get 0))
      (func (export "f") (param i32) (result i64) (global.get 0)))"""))
    types = {e.name: str(e.type) for e in module.exports}
    assert types == {"mem": "(memory 1 2)", "t": "(table 3 externref)",
                     "g": "(global (mut f32))", "again": "(global i64)",
                     "f": "(func (param i32) (result i64))"}
    assert [(i.module, i.name, str(i.type)) for i in module.imports] == [("e", "g", "(global i64)")]


def _from_another_aot(artifact: bytes) -> bytes:
    """`artifact` as if another aot version had written it (trailer and CRC redone)."""
    import dataclasses

    from aot.abi.fingerprint import append_trailer, read_trailer

    elf_end, fp = read_trailer(artifact)
    return append_trailer(artifact[:elf_end], dataclasses.replace(fp, aot_version="0.0.1-other"))


def test_an_artifact_of_another_aot_is_refused_or_rebuilt_from_its_wasm(tmp_path):
    wasm = wat('(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))')
    path = tmp_path / "m.so"
    path.write_bytes(_from_another_aot(aot.compile_artifact(wasm, aot.CompileOptions(embed_wasm=True))))
    with pytest.raises(aot.IncompatibleArtifactError, match="cannot be loaded here"):
        aot.load(path)
    rebuilt = aot.load(path, rebuild=True, cache=tmp_path / "cache")
    assert rebuilt.instantiate().exports.f(14) == 42
    plain = tmp_path / "plain.so"
    plain.write_bytes(_from_another_aot(aot.compile_artifact(wasm)))
    with pytest.raises(aot.ArtifactError, match="compiled without embed_wasm"):
        aot.load(plain, rebuild=True)


def test_a_module_serializes_to_bytes_that_deserialize_elsewhere(tmp_path):
    module = aot.compile(wat('(module (func (export "seven") (result i32) (i32.const 7)))'))
    data = module.serialize()
    assert aot.Module.deserialize(data).instantiate().exports.seven() == 7
    assert aot.load(data).instantiate().exports.seven() == 7
    damaged = bytearray(data)
    damaged[len(damaged) // 3] ^= 1
    with pytest.raises(aot.ArtifactError, match="checksum"):
        aot.Module.deserialize(bytes(damaged))
    with pytest.raises(aot.IncompatibleArtifactError, match="fuel"):
        aot.Module.deserialize(data, fuel=True)
