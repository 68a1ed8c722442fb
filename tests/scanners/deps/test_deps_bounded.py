"""Manifest readers do work proportional to the file: long tables and arrays are not searched once
per entry. Measured in lines read (deterministic), not seconds; plus the lines found stay right."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.audit import merge_advisories
from aisec_ci.scanners.deps.sources import parse_manifest, textpos

N = 3000


class CountingLines(list[str]):
    """The line list of every LineIndex, counting how many lines the readers look at."""

    reads = 0

    def __getitem__(self, i: Any) -> Any:
        CountingLines.reads += 1
        return super().__getitem__(i)


@pytest.fixture
def line_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[CountingLines]]:
    real_init = textpos.LineIndex.__init__

    def init(self: textpos.LineIndex, text: str) -> None:
        real_init(self, text)
        self.lines = CountingLines(self.lines)

    monkeypatch.setattr(textpos.LineIndex, "__init__", init)
    CountingLines.reads = 0
    yield CountingLines


def pipfile() -> str:
    body = "".join(f'lib-{i} = "=={1 + i % 7}.0"\n' for i in range(N))
    head = '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n'
    return f'{head}[packages]\n{body}\n[dev-packages]\npytest = "*"\n'


def pyproject() -> str:
    pep621 = "".join(f'    "lib-{i}=={1 + i % 7}.0",\n' for i in range(N))
    poetry = "".join(f'plib-{i} = "{1 + i % 7}.0"\n' for i in range(N))
    project = f'[project]\nname = "big"\nversion = "1"\ndependencies = [\n{pep621}]\n\n'
    return f'{project}[tool.poetry.dependencies]\npython = "^3.10"\n{poetry}'


def poetry_lock() -> str:
    blocks = []
    for i in range(N):
        files = ",\n".join(f'    {{file = "lib_{i}-1.0-{t}.whl", hash = "sha256:{i:064x}"}}' for t in ("py3", "cp311"))
        blocks.append(
            f'[[package]]\nname = "lib-{i}"\nversion = "1.0"\ndescription = "x"\noptional = false\n'
            f'python-versions = ">=3.8"\nfiles = [\n{files}\n]\n\n[package.dependencies]\nidna = ">=2.5"\n\n'
        )
    return "".join(blocks) + '[metadata]\nlock-version = "2.0"\ncontent-hash = "x"\n'


def pipfile_lock() -> str:
    default = {f"lib-{i}": {"hashes": [f"sha256:{i:064x}"], "version": "==1.0"} for i in range(N)}
    return json.dumps({"_meta": {"sources": []}, "default": default, "develop": {}}, indent=4, sort_keys=True)


@pytest.mark.parametrize(
    ("name", "fmt", "make"),
    [
        ("Pipfile", "Pipfile", pipfile),
        ("pyproject.toml", "pyproject", pyproject),
        ("poetry.lock", "poetry.lock", poetry_lock),
        ("Pipfile.lock", "Pipfile.lock", pipfile_lock),
    ],
)
def test_long_manifests_are_read_in_linear_work(
    line_reads: type[CountingLines], name: str, fmt: str, make: Any
) -> None:
    text = make()
    parsed = parse_manifest(name, text, fmt, None)
    lines = text.splitlines()
    assert len({d.name for d in parsed.dependencies}) >= N and parsed.problems == []
    # every entry points at the line that names it
    for dep in parsed.dependencies[:: N // 7]:
        assert dep.name in lines[dep.line - 1], (dep.name, dep.line)
    # one search per entry through its whole table read about N * N / 2 lines (millions)
    assert line_reads.reads < 12 * len(lines), line_reads.reads


def test_pyproject_entries_written_twice_keep_their_first_line() -> None:
    text = '[project]\nname = "x"\ndependencies = [\n    "b==1",\n    "a==2",\n    "b==1",\n]\n'
    deps = parse_manifest("pyproject.toml", text, "pyproject", None).dependencies
    assert [(d.name, d.line) for d in deps] == [("b", 4), ("a", 5), ("b", 4)]


def test_pipfile_quoted_and_repeated_lookups_in_one_table() -> None:
    text = (
        '[packages]\n"zope.interface" = "==5.0"\nflask = "==2.0"\n\'odd-name\' = "*"\n\n'
        '[dev-packages]\nflask = "==1.0"\n'
    )
    deps = parse_manifest("Pipfile", text, "Pipfile", None).dependencies
    assert sorted((d.name, d.line, d.group) for d in deps) == [
        ("flask", 3, "packages"),
        ("flask", 7, "dev-packages"),
        ("odd-name", 4, "packages"),
        ("zope.interface", 2, "packages"),
    ]


def test_merging_hundreds_of_advisories_of_one_package() -> None:
    # An old tensorflow matches hundreds of advisories; each PYSEC id has a CVE alias and a GHSA
    # record names the same CVE: 3 records per group, merged into one with all three ids.
    items = []
    for n in range(400):
        items.append(Advisory(id=f"PYSEC-2021-{n}", aliases=(f"CVE-2021-{n}",), summary="", sources=("osv-api",)))
        items.append(Advisory(id=f"GHSA-{n:04d}", aliases=(f"CVE-2021-{n}",), summary=f"s{n}", sources=("offline-db",)))
        items.append(Advisory(id=f"CVE-2021-{n}", summary="", sources=("safety",)))
    merged = merge_advisories(items)
    assert len(merged) == 400
    first = next(a for a in merged if a.id == "PYSEC-2021-7")
    assert first.aliases == ("CVE-2021-7", "GHSA-0007") and first.summary == "s7"
    assert first.sources == ("offline-db", "osv-api", "safety")
