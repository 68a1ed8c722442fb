"""uv.lock is parsed with its wheel and sdist entries emptied: the packages, and the error
of a broken lock (message, line and column), must be those of the full text."""

from __future__ import annotations

import random
import sys

import pytest

from aisec_ci.scanners.deps.model import ManifestError
from aisec_ci.scanners.deps.sources import uv_lock
from aisec_ci.scanners.deps.sources.tomllock import parse_package_array

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WHEEL = (
    '    {{ url = "https://files.example/{n}.whl", hash = "sha256:{n:064x}", size = {size}, upload-time = "2026" }},'
)
LOCK = (
    'version = 1\nrequires-python = ">=3.10"\n\n'
    '[[package]]\nname = "alpha"\nversion = "1.0"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
    'sdist = {{ url = "https://files.example/a.tar.gz", hash = "sha256:00", size = 12 }}\n'
    "wheels = [\n{wheels}\n]\n\n"
    '[[package]]\nname = "beta"\nversion = "2.0"\nsource = {{ git = "https://example.org/beta?rev=1#abc" }}\n'
    'dependencies = [\n    {{ name = "alpha" }},\n]\n'
)


def _lock(n: int = 3) -> str:
    return LOCK.format(wheels="\n".join(WHEEL.format(n=i, size=100 + i) for i in range(n)))


def _outcome(text: str) -> object:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return str(exc)
    return sorted(data), [(p.get("name"), p.get("version"), p.get("source")) for p in data.get("package", [])]


def test_lighter_text_keeps_lines_and_packages() -> None:
    text = _lock()
    light = uv_lock.without_artifact_details(text)
    assert len(light) < len(text) and light.count("\n") == text.count("\n")
    assert _outcome(light) == _outcome(text)
    full = parse_package_array("uv.lock", text, "uv.lock", "package", uv_lock._source)[0]
    assert uv_lock.parse("uv.lock", text) == full
    assert [(d.name, d.version, d.line) for d in full.dependencies] == [("alpha", "1.0", 5), ("beta", "2.0", 16)]


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(
            lambda t: t.replace("wheels = [", WHEEL.format(n=9, size=1) + "\nwheels = [", 1),
            id="element-outside-any-array",
        ),
        pytest.param(
            lambda t: t.replace("wheels = [", 'sdist = { url = "u", hash = "h", size = 1 }\nwheels = [', 1),
            id="repeated-sdist-key",
        ),
        pytest.param(lambda t: t.replace("size = 101", "size = 0101"), id="leading-zero-size"),
        pytest.param(lambda t: t.rstrip("\n").removesuffix("]").rstrip().removesuffix(","), id="unclosed-array"),
    ],
)
def test_broken_lock_fails_alike(broken: object) -> None:
    text = broken(_lock())  # type: ignore[operator]
    assert isinstance(_outcome(text), str)
    with pytest.raises(ManifestError) as full:
        parse_package_array("uv.lock", text, "uv.lock", "package", lambda _p: None)
    with pytest.raises(ManifestError) as light:
        uv_lock.parse("uv.lock", text)
    assert str(light.value) == str(full.value)


def test_random_damage_fails_or_parses_alike() -> None:
    rng = random.Random(1)
    lines = _lock(6).split("\n")
    pieces = ["{", "}", "[", "]", ",", '"', "=", "#", "0", "x", "\\", "[[package]]", "sdist = ", "wheels = ["]
    for _ in range(3000):
        damaged = lines[:]
        for _ in range(rng.randint(1, 3)):
            j = rng.randrange(len(damaged))
            roll = rng.random()
            if roll < 0.3:
                damaged.insert(rng.randrange(len(damaged)), damaged[j])
            elif roll < 0.45:
                del damaged[j]
            else:
                at = rng.randint(0, len(damaged[j]))
                damaged[j] = damaged[j][:at] + rng.choice(pieces) + damaged[j][at + rng.randint(0, 3) :]
        text = "\n".join(damaged)
        assert _outcome(uv_lock.without_artifact_details(text)) == _outcome(text), text


def test_multiline_strings_keep_the_full_text() -> None:
    text = _lock() + 'notes = """\n' + WHEEL.format(n=1, size=1) + '\n"""\n'
    assert uv_lock.without_artifact_details(text) == text
