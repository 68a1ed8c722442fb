"""Go, npm and Cargo lock files: what each format yields, with the line of each entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.deps.collect import collect
from aisec_ci.scanners.deps.model import Dependency, ManifestError, PinKind
from aisec_ci.scanners.deps.sources import RepoFiles, format_of, parse_manifest
from aisec_ci.workspace.classify import classify
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.deps.deps_support import FIXTURES, repo_files

LOCKS = FIXTURES / "locks"


def parsed(relpath: str) -> list[Dependency]:
    text = (LOCKS / relpath).read_text(encoding="utf-8")
    fmt = format_of(relpath, classify(relpath, text.encode()[:4096]))
    assert fmt is not None, relpath
    result = parse_manifest(relpath, text, fmt, RepoFiles(LOCKS))
    assert result.problems == []
    return sorted(result.dependencies, key=lambda d: (d.line, d.name))


def rows(deps: list[Dependency]) -> list[tuple[int, str, str | None, str]]:
    """(line, name, version, kind) in file order."""
    return [(d.line, d.name, d.version, d.kind.value) for d in deps]


def line_of(relpath: str, line: int) -> str:
    return (LOCKS / relpath).read_text(encoding="utf-8").splitlines()[line - 1].strip()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("go.mod", "go.mod"),
        ("go.sum", "go.sum"),
        ("package-lock.json", "package-lock.json"),
        ("npm-shrinkwrap.json", "package-lock.json"),
        ("yarn.lock", "yarn.lock"),
        ("pnpm-lock.yaml", "pnpm-lock.yaml"),
        ("Cargo.lock", "Cargo.lock"),
    ],
)
def test_lock_files_are_classified_and_read(name: str, expected: str) -> None:
    kind = classify(f"web/{name}", b"{}\n")
    assert kind is FileKind.LOCKFILE
    assert format_of(f"web/{name}", kind) == expected


def test_go_mod_requires_replaces_and_indirect_modules() -> None:
    deps = parsed("go/go.mod")
    assert rows(deps) == [
        (8, "github.com/gin-gonic/gin", "v1.9.1", "pinned"),
        (9, "golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b", "pinned"),
        (15, "github.com/davecgh/go-spew", "v1.1.2-0.20180830191138-d8f796af33cc", "pinned"),
        (16, "github.com/docker/docker", "v24.0.7+incompatible", "pinned"),
        (18, "gopkg.in/yaml.v3", "v3.0.1", "pinned"),  # a quoted module path
        # `replace old => new version` is what gets built: audited at the replace line (k8s.io/client-go
        # v0.28.4, required on line 10, is not)
        (21, "k8s.io/client-go", "v0.28.3", "pinned"),
        # a replacement by a directory is the project's own code
        (24, "example.com/inference-gateway/api", None, "local"),
        # a versioned replace applies to that version only; here it lifts x/text past its advisory
        (25, "golang.org/x/text", "v0.3.8", "pinned"),
    ]
    assert all(d.ecosystem == "Go" for d in deps)
    assert [d.group for d in deps if d.line in (15, 16, 18, 25)] == ["indirect"] * 4
    assert [d.group for d in deps if d.line in (8, 9, 21)] == ["", "", ""]
    replaced = next(d for d in deps if d.line == 21)
    assert replaced.extra == {"replaces": "k8s.io/client-go v0.28.4", "required_at": "10"}
    assert replaced.snippet == "replace k8s.io/client-go => k8s.io/client-go v0.28.3"
    # what advisories compare: Go's data spells versions without the `v`
    assert [d.audit_version for d in deps if d.line in (9, 16)] == [
        "0.0.0-20220722155237-a158d28d115b",
        "24.0.7+incompatible",
    ]


def test_go_sum_adds_the_modules_an_old_go_mod_leaves_out() -> None:
    # go 1.16: go.mod names direct dependencies only; go.sum's module zips are what the build used.
    assert rows(parsed("go-legacy/go.sum")) == [
        (6, "golang.org/x/sys", "v0.0.0-20191026070338-33540a1f6037", "pinned"),
        # two x/text zips: the higher is the one selected; `/go.mod`-only lines are no download
        (11, "golang.org/x/text", "v0.3.6", "pinned"),
    ]
    # go 1.21: go.mod lists the whole build, and go.sum adds nothing
    assert parsed("go/go.sum") == []


def test_go_mod_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="never closed"):
        parse_manifest("go.mod", "module x\n\nrequire (\n\tgolang.org/x/net v0.7.0\n", "go.mod", None)
    result = parse_manifest("go.mod", "module x\nrequire golang.org/x/net\nreplace a b\n", "go.mod", None)
    assert [(p.line, p.message) for p in result.problems] == [
        (2, "a require line that is not `module version`"),
        (3, "a replace line without `=>`"),
    ]
    assert result.dependencies == []


def test_package_lock_v3_packages_keys() -> None:
    deps = parsed("npm-v3/package-lock.json")
    assert rows(deps) == [
        (24, "@babel/core", "7.23.0", "pinned"),
        (33, "lodash", "4.17.21", "pinned"),  # node_modules/@babel/core/node_modules/lodash
        (39, "lodash", "4.17.20", "pinned"),
        (44, "minimist", "1.2.8", "pinned"),
        (49, "mkdirp", "0.5.5", "pinned"),
        (60, "minimist", "1.2.5", "pinned"),  # node_modules/mkdirp/node_modules/minimist
        (65, "private-lib", "1.0.0", "vcs"),  # the version it states, for the SBOM
        (70, "string-width", "4.2.3", "pinned"),  # an alias entry names the real package
    ]
    # the root (""), the workspace folder (packages/ui) and its link are the project itself
    assert line_of("npm-v3/package-lock.json", 60) == '"node_modules/mkdirp/node_modules/minimist": {'
    assert {d.name: d.group for d in deps}["@babel/core"] == "dev"
    assert next(d for d in deps if d.name == "private-lib").specifier.startswith("git+ssh://")
    assert all(d.ecosystem == "npm" for d in deps)


def test_package_lock_v1_nested_dependencies() -> None:
    deps = parsed("npm-v1/package-lock.json")
    assert rows(deps) == [
        (7, "lodash", "4.17.15", "pinned"),
        (12, "minimist", "1.2.6", "pinned"),
        (17, "mkdirp", "0.5.5", "pinned"),
        (25, "minimist", "1.2.5", "pinned"),  # installed below mkdirp
        (32, "string-width", "4.2.3", "pinned"),  # "version": "npm:string-width@4.2.3"
        (37, "typescript", "4.9.5", "pinned"),
        (43, "widget-kit", None, "vcs"),
    ]
    assert line_of("npm-v1/package-lock.json", 25) == '"minimist": {'
    assert {d.name: d.group for d in deps}["typescript"] == "dev"


def test_package_lock_one_entry_per_release_and_minified_json() -> None:
    text = (
        '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0","dev":true},'
        '"node_modules/b/node_modules/a":{"version":"1.0.0"},"node_modules/b":{"version":"2.0.0"}}}'
    )
    deps = parse_manifest("package-lock.json", text, "package-lock.json", None).dependencies
    # `a@1.0.0` twice is one release, at its first entry, and a production dependency through b
    assert [(d.line, d.name, d.version, d.group) for d in deps] == [(1, "a", "1.0.0", ""), (1, "b", "2.0.0", "")]


def test_yarn_classic() -> None:
    deps = parsed("yarn-classic/yarn.lock")
    assert rows(deps) == [
        (5, "@types/node", "18.19.3", "pinned"),
        (12, "lodash", "4.17.19", "pinned"),
        (17, "minimist", "0.0.8", "pinned"),
        (21, "minimist", "1.2.6", "pinned"),
        (26, "string-width", "4.2.3", "pinned"),  # `string-width-cjs@npm:string-width@^4.2.0`
        (31, "tokenizer-bindings", "2.1.0", "vcs"),
        (35, "undici-types", "5.26.5", "pinned"),
    ]
    assert deps[1].snippet == "lodash@^4.17.15, lodash@^4.17.19:"


def test_yarn_berry_resolutions() -> None:
    deps = parsed("yarn-berry/yarn.lock")
    assert rows(deps) == [
        (18, "lodash", "4.17.20", "pinned"),
        (25, "minimist", "1.2.5", "pinned"),
        # `resolve@npm:1.22.8` and its `patch:` twin are one release
        (32, "resolve", "1.22.8", "pinned"),
        (52, "shared-utils", "0.0.0-use.local", "local"),  # a portal: a folder, not a download
        (58, "string-width", "4.2.3", "pinned"),  # the resolution names the aliased package
    ]
    assert deps[3].specifier == "../shared-utils"  # the folder, for the outside-the-repository check


def test_pnpm_key_formats_v5_v6_v9() -> None:
    assert rows(parsed("pnpm-v5/pnpm-lock.yaml")) == [
        (13, "js-tokens", "4.0.0", "pinned"),
        (17, "lodash", "4.17.20", "pinned"),
        (21, "react-dom", "18.2.0", "pinned"),  # `/react-dom/18.2.0_react@18.2.0`: peers after `_`
        (29, "react", "18.2.0", "pinned"),
    ]
    v6 = parsed("pnpm-v6/pnpm-lock.yaml")
    assert rows(v6) == [
        (25, "@tensorflow/tfjs-core", "4.15.0", "pinned"),
        (31, "long", "4.0.0", "pinned"),
        (35, "lodash", "4.17.20", "pinned"),
        (39, "minimist", "1.2.5", "pinned"),
        (43, "react-dom", "18.2.0", "pinned"),  # `/react-dom@18.2.0(react@18.2.0)`
        (51, "react", "18.2.0", "pinned"),
        (55, "tokenizer-bindings", "2.1.0", "vcs"),  # a codeload tarball of a git commit
    ]
    assert {d.name: d.group for d in v6}["minimist"] == "dev"
    assert rows(parsed("pnpm-v9/pnpm-lock.yaml")) == [
        (27, "@tensorflow/tfjs-core", "4.15.0", "pinned"),  # `'@tensorflow/tfjs-core@4.15.0':`
        (30, "lodash.merge", "4.6.2", "pinned"),
        (33, "lodash", "4.17.20", "pinned"),
        (36, "minimist", "1.2.5", "pinned"),
        (39, "react-dom", "18.2.0", "pinned"),
        (44, "react", "18.2.0", "pinned"),
        (47, "tokenizer-bindings", "2.1.0", "vcs"),
        # `snapshots:` repeats the packages with their peers and is not read
    ]


def test_cargo_lock_versions_of_one_crate() -> None:
    deps = parsed("cargo/Cargo.lock")
    assert rows(deps) == [
        (6, "chrono", "0.4.19", "pinned"),
        (29, "libc", "0.2.150", "pinned"),
        (35, "safetensors", "0.4.1", "pinned"),  # the sparse index is crates.io too
        (41, "time", "0.1.44", "pinned"),
        (50, "time", "0.2.5", "pinned"),
        (56, "time", "0.3.30", "pinned"),
        (62, "tokenizers", "0.15.0", "vcs"),
        # another registry's crate is not crates.io's crate of the same name
        (67, "vendored-kernels", "1.0.0", "url"),
    ]
    # the workspace's own crate (no `source`) is not a dependency
    assert "inference-server" not in {d.name for d in deps}
    assert all(d.ecosystem == "crates.io" for d in deps)


def test_collect_reads_every_lock_of_a_repository() -> None:
    inv = collect(LOCKS, repo_files(LOCKS))
    assert inv.broken == {} and inv.problems == []
    per_file: dict[str, int] = {}
    for dep in inv.dependencies:
        per_file[dep.path] = per_file.get(dep.path, 0) + 1
    assert per_file == {
        "cargo/Cargo.lock": 8,
        "go-legacy/go.mod": 2,
        "go-legacy/go.sum": 2,
        "go/go.mod": 8,
        "npm-v1/package-lock.json": 7,
        "npm-v3/package-lock.json": 8,
        "pnpm-v5/pnpm-lock.yaml": 4,
        "pnpm-v6/pnpm-lock.yaml": 7,
        "pnpm-v9/pnpm-lock.yaml": 7,
        "yarn-berry/yarn.lock": 5,
        "yarn-classic/yarn.lock": 7,
    }
    assert {d.kind for d in inv.dependencies} == {PinKind.PINNED, PinKind.VCS, PinKind.LOCAL, PinKind.URL}
