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
