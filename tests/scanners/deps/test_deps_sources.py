"""Every manifest format: which dependencies, at which line, of which kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.deps.model import Dependency, ManifestError
from aisec_ci.scanners.deps.sources import RepoFiles, parse_manifest
from tests.call_budget import assert_linear
from tests.scanners.deps.deps_support import FIXTURES

REPO = FIXTURES / "repo"


def parse(rel: str, fmt: str, root: Path = REPO) -> tuple[list[Dependency], list[str]]:
    text = (root / rel).read_text(encoding="utf-8")
    parsed = parse_manifest(rel, text, fmt, RepoFiles(root))
    return parsed.dependencies, [f"{p.path}:{p.line}:{p.message}" for p in parsed.problems]


def summary(deps: list[Dependency]) -> list[tuple[str, int, str, str | None]]:
    return [(d.path, d.line, d.kind.value, d.version) for d in deps]


def test_requirements_follow_includes_and_keep_each_files_lines() -> None:
    deps, problems = parse("serving/requirements.txt", "requirements")
    assert problems == []
    got = {(d.path, d.line, d.canonical, d.kind.value, d.version) for d in deps}
    assert ("common/requirements-base.txt", 2, "requests", "pinned", "2.25.0") in got
    assert ("common/requirements-base.txt", 5, "pillow", "pinned", "9.0.0") in got
    assert ("common/constraints.txt", 2, "certifi", "pinned", "2022.9.24") in got
    # the hashed pin continues over two lines and is reported at its first line
    assert ("serving/requirements.txt", 6, "fastapi", "pinned", "0.65.1") in got
    assert ("serving/requirements.txt", 9, "jinja2", "pinned", "2.10") in got  # `===` pin
    assert ("serving/requirements.txt", 10, "uvicorn", "range", None) in got
    assert ("serving/requirements.txt", 11, "gunicorn", "range", None) in got
    assert ("serving/requirements.txt", 13, "tokenizer-tools", "vcs", None) in got
    assert ("serving/requirements.txt", 14, "prompt-kit", "vcs", None) in got
    assert ("serving/requirements.txt", 15, "fastmodel", "url", None) in got
    assert ("serving/requirements.txt", 16, "onnxhelper", "local", None) in got
    starlette = next(d for d in deps if d.canonical == "starlette")
    assert starlette.marker == 'python_version >= "3.8"'
    constraint = next(d for d in deps if d.canonical == "idna")
    assert constraint.group == "constraints"


def test_requirement_line_forms() -> None:
    text = (
        "torch==2.1.0+cu118\n"
        "numpy==1.26.*\n"
        "pkg[extra1,extra2]==1.0 ; sys_platform == 'linux'\n"
        "-e git+https://github.com/acme/x.git@abc#egg=x-lib\n"
        "--extra-index-url https://download.pytorch.org/whl/cu118\n"
        "name @ file:///opt/wheels/name-1.0.whl\n"
    )
    deps = parse_manifest("requirements.txt", text, "requirements", None).dependencies
    assert summary(deps) == [
        ("requirements.txt", 1, "pinned", "2.1.0+cu118"),
        ("requirements.txt", 2, "range", None),  # a wildcard is not one version
        ("requirements.txt", 3, "pinned", "1.0"),
        ("requirements.txt", 4, "vcs", None),
        ("requirements.txt", 6, "local", None),
    ]
    assert deps[3].name == "x-lib" and deps[3].extra == {"editable": "true"}


def test_include_cycle_and_escape_are_problems_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nrequests==2.25.0\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n-r ../../etc/passwd\n-r missing.txt\nflask==2.2.0\n")
    deps, problems = parse("a.txt", "requirements", tmp_path)
    assert {(d.path, d.canonical) for d in deps} == {("a.txt", "requests"), ("b.txt", "flask")}
    assert any(p.startswith("b.txt:1:include cycle a.txt -> b.txt -> a.txt") for p in problems)
    assert any(p.startswith("b.txt:2:") and "escapes the repository" in p for p in problems)
    assert any(p.startswith("b.txt:3:") and "does not exist" in p for p in problems)


def test_symlinked_include_leaving_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret-package==1.0\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.txt").symlink_to(outside)
    (repo / "requirements.txt").write_text("-r link.txt\n")
    deps, problems = parse("requirements.txt", "requirements", repo)
    assert deps == []
    assert problems and "outside the repository" in problems[0]


def test_binary_junk_named_requirements_is_rejected() -> None:
    junk = bytes(range(256)).decode("latin-1") * 4
    with pytest.raises(ManifestError, match=r"requirements\.txt"):
        parse_manifest("requirements.txt", junk, "requirements", None)
    garbage = "\ufffd\ufffd PK\x03\x04 ???\n" * 10
    with pytest.raises(ManifestError, match="not a requirements file"):
        parse_manifest("requirements.txt", garbage, "requirements", None)


def test_poetry_pyproject_and_lock() -> None:
    deps, _ = parse("training/pyproject.toml", "pyproject")
    got = {d.canonical: (d.line, d.kind.value, d.version, d.group) for d in deps}
    assert "python" not in got
    assert got["torch"] == (9, "range", None, "main")
    assert got["scikit-learn"] == (10, "pinned", "0.23.0", "main")  # a bare Poetry version is exact
    assert got["mlflow"] == (11, "range", None, "main")
    assert got["datasets-tools"] == (12, "vcs", None, "main")
    assert got["black"] == (15, "pinned", "23.1.0", "dev")
    lock, _ = parse("training/poetry.lock", "poetry.lock")
    assert summary(lock) == [
        ("training/poetry.lock", 4, "pinned", "23.1.0"),
        ("training/poetry.lock", 12, "vcs", "0.1.0"),
        ("training/poetry.lock", 26, "pinned", "2.9.1"),
        ("training/poetry.lock", 34, "pinned", "0.23.0"),
        ("training/poetry.lock", 42, "pinned", "2.1.0"),
    ]


def test_pep621_pyproject_and_uv_lock() -> None:
    deps, _ = parse("agent/pyproject.toml", "pyproject")
    got = {d.canonical: (d.line, d.kind.value, d.group) for d in deps}
    assert got == {
        "langchain": (6, "range", ""),
        "openai": (7, "range", ""),
        "aiohttp": (8, "range", ""),
        "streamlit": (12, "pinned", "ui"),
        "pytest": (15, "range", "dev"),
        "ruff": (16, "range", "lint"),
    }
    lock, _ = parse("agent/uv.lock", "uv.lock")
    kinds = {d.canonical: (d.line, d.kind.value, d.version) for d in lock}
    assert kinds["aiohttp"] == (5, "pinned", "3.8.4")
    assert kinds["streamlit"] == (31, "pinned", "1.10.0")
    assert kinds["support-agent"][1] == "local"  # the project itself (editable ".")


def test_pipfile_and_lock() -> None:
    deps, _ = parse("pipenv-app/Pipfile", "Pipfile")
    assert {d.canonical: (d.line, d.kind.value) for d in deps} == {
        "flask": (7, "pinned"),
        "werkzeug": (8, "range"),
        "gradio-client": (9, "vcs"),
        "ipython": (12, "range"),
    }
    lock, _ = parse("pipenv-app/Pipfile.lock", "Pipfile.lock")
    assert {d.canonical: (d.line, d.kind.value, d.version, d.group) for d in lock} == {
        "flask": (19, "pinned", "2.2.0", "default"),
        "gradio-client": (24, "vcs", None, "default"),
        "werkzeug": (28, "pinned", "2.2.2", "default"),
        "ipython": (35, "pinned", "7.31.0", "develop"),
    }


def test_pdm_lock_pylock_setup_cfg() -> None:
    pdm, _ = parse("pdm-app/pdm.lock", "pdm.lock")
    assert summary(pdm) == [
        ("pdm-app/pdm.lock", 11, "pinned", "4.6.2"),
        ("pdm-app/pdm.lock", 17, "pinned", "14.0.0"),
        ("pdm-app/pdm.lock", 23, "pinned", "8.0.0"),
    ]
    pdm_project, _ = parse("pdm-app/pyproject.toml", "pyproject")
    assert {(d.canonical, d.group) for d in pdm_project} == {("lxml", ""), ("pyarrow", ""), ("pytest", "test")}
    pylock, _ = parse("pylock-app/pylock.toml", "pylock.toml")
    assert [(d.canonical, d.line, d.kind.value) for d in pylock] == [
        ("cryptography", 7, "pinned"),
        ("paramiko", 12, "pinned"),
        ("edge-runtime", 17, "vcs"),
        ("feature-store", 24, "local"),
    ]
    cfg, _ = parse("legacy/setup.cfg", "setup.cfg")
    assert [(d.canonical, d.line, d.kind.value, d.group) for d in cfg] == [
        ("paramiko", 8, "pinned", ""),
        ("click", 9, "range", ""),
        ("py", 10, "pinned", ""),
        ("jupyterlab", 14, "pinned", "notebook"),
    ]


def test_pylock_with_unknown_major_version_is_rejected() -> None:
    with pytest.raises(ManifestError, match="lock-version"):
        parse_manifest("pylock.toml", 'lock-version = "2.0"\n', "pylock.toml", None)


def test_conda_environment_pip_section_and_conda_packages() -> None:
    deps, _ = parse("conda/environment.yml", "conda")
    assert [(d.canonical, d.line, d.kind.value) for d in deps] == [
        ("python", 6, "conda"),
        ("pytorch", 7, "conda"),
        ("cudatoolkit", 8, "conda"),
        ("pip", 9, "conda"),
        ("twisted", 11, "pinned"),
        ("sqlparse", 12, "pinned"),
        ("wandb", 13, "range"),
    ]


def test_conda_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for n in range(1, 7):
        prev = chr(ord("a") + n - 1)
        name = chr(ord("a") + n)
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(ManifestError, match="YAML nodes"):
        parse_manifest("environment.yml", bomb, "conda", None)


def test_notebook_pip_magics() -> None:
    deps, _ = parse("notebooks/finetune.ipynb", "notebook")
    got = [(d.canonical, d.line, d.kind.value, d.version, d.extra.get("cell")) for d in deps]
    assert got == [
        ("transformers", 17, "pinned", "4.30.0", "1"),
        ("setuptools", 17, "pinned", "65.5.0", "1"),
        ("accelerate", 18, "range", None, "1"),
        ("nltk", 27, "pinned", "3.7", "2"),  # `-i URL` consumed, `&& echo` ignored
    ]


@pytest.mark.parametrize(
    ("name", "fmt", "text", "message"),
    [
        ("pyproject.toml", "pyproject", "[project\nname = 'x'\n", "invalid TOML"),
        ("poetry.lock", "poetry.lock", "[[package]]\nname = \n", "invalid TOML"),
        ("Pipfile.lock", "Pipfile.lock", '{"default": {', "invalid JSON"),
        ("environment.yml", "conda", "dependencies:\n  - pip:\n    - [unclosed\n", "invalid YAML"),
        ("nb.ipynb", "notebook", "{not json", "invalid notebook JSON"),
        ("nb.ipynb", "notebook", '{"metadata": {}}', "no `cells` list"),
    ],
)
def test_malformed_manifests_raise_a_clear_error_naming_the_file(name: str, fmt: str, text: str, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(name, text, fmt, None)
    assert name in str(info.value) and message in str(info.value)


def test_huge_lock_files_parse_quickly() -> None:
    import json

    def poetry_lock(count: int) -> str:
        return "".join(
            f'[[package]]\nname = "pkg-{i}"\nversion = "1.{i}"\noptional = false\nfiles = []\n\n' for i in range(count)
        )

    def pipfile_lock(count: int) -> str:
        packages = {f"pkg-{i}": {"hashes": [], "version": f"==1.{i}"} for i in range(count)}
        return json.dumps({"_meta": {}, "default": packages}, indent=4)

    # Work counted, not timed: 4x the packages must cost about 4x the steps.
    assert_linear(lambda n: parse_manifest("poetry.lock", poetry_lock(n), "poetry.lock", None), 250)
    assert_linear(lambda n: parse_manifest("Pipfile.lock", pipfile_lock(n), "Pipfile.lock", None), 250)
    count = 20_000
    text = pipfile_lock(count)
    deps = parse_manifest("poetry.lock", poetry_lock(count), "poetry.lock", None).dependencies
    lock = parse_manifest("Pipfile.lock", text, "Pipfile.lock", None).dependencies
    assert len(deps) == len(lock) == count
    assert (deps[-1].line, deps[-1].version) == (6 * (count - 1) + 2, f"1.{count - 1}")
    assert lock[-1].line == text.splitlines().index(f'        "pkg-{count - 1}": {{') + 1


def test_the_fast_path_for_plain_pins_agrees_with_packaging() -> None:
    import itertools

    from packaging.requirements import InvalidRequirement, Requirement

    from aisec_ci.scanners.deps.sources.requirements import _simple_pin, pinned_version

    names = ["torch", "Foo_Bar", "a", "a.b-c", "x1", "-bad", "foo-", "zope.interface"]
    versions = ["1.0", "v1.0", "1.0a1", "1.0.post1", "1.0+local.1", "1.0.dev0", "1!2.0", "1.0abc", "1.*", "1.0-1"]
    taken = 0
    for name, version, sep in itertools.product(names, versions, ("==", " == ", "  ==")):
        body = f"{name}{sep}{version}"
        fast = _simple_pin(body, "r.txt", 1, body, "requirements", "")
        if fast is None:
            continue  # left to packaging's full parser
        taken += 1
        try:
            req = Requirement(body)
        except InvalidRequirement:
            pytest.fail(f"fast path accepted {body!r}, which packaging rejects")
        assert (fast.name, fast.specifier, fast.version) == (
            req.name,
            str(req.specifier),
            pinned_version(str(req.specifier)),
        )
    assert taken > 100  # the common shapes do take the fast path
