"""False-positive patterns seen on real ML repositories, each on a realistic file, end to end through the CLI.

Every scan is offline against the shared OSV data directory, so the results do not depend on the network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_tree
from tests.scanners.deps.deps_support import OSV_DATA

pytestmark = pytest.mark.skipif(not OSV_DATA.is_dir(), reason="shared advisory data is absent")

# A serving image's requirements, frozen years ago and kept for the Python 2 days.
SERVING_REQUIREMENTS = """\
# Frozen for the model server image (pip-compile, then hand-edited)
flask==2.3.3
Jinja2==2.11.2 ; python_version < "3.0"
futures==3.1.1 ; python_version == "2.7"
pywin32==227 ; sys_platform == "win32"
urllib3==1.26.4 ; python_version < "3.10"
enum34>=1.1 ; python_version < "3.4"
"""

PYPROJECT = """\
[project]
name = "sentiment-server"
version = "0.4.0"
requires-python = ">=3.9"
dependencies = ["flask>=2.3"]
"""


def scan(root: Path, tmp_path: Path, *extra: str, sbom: Path | None = None) -> dict[str, Any]:
    out = tmp_path / "out.json"
    args: list[str | Path] = ["scan", root, "--offline", "--scanners", "deps", "--profile", "audit", "--format", "json"]
    args += ["--output", out, "--fail-on", "none", *extra]
    if sbom is not None:
        args += ["--sbom", sbom]
    proc = run_cli(*args, env={"AISEC_OSV_DB": str(OSV_DATA)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def vulnerable(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in data["findings"]:
        if f["rule_id"] == "deps/vulnerable-package":
            out.setdefault(f["properties"]["package"], []).append(f)
    return out


def marker_note(data: dict[str, Any]) -> str:
    """The notes listing pins left out for their marker (one per target), joined."""
    notes = [str(n) for n in data["notes"] if "environment marker is never true" in n]
    assert notes, data["notes"]
    return "\n".join(notes)


def test_pins_whose_marker_never_holds_for_requires_python_are_not_audited(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, {"pyproject.toml": PYPROJECT, "requirements.txt": SERVING_REQUIREMENTS})
    data = scan(repo, tmp_path)
    found = vulnerable(data)
    # Python 2 only and Windows only: never installed on Python >= 3.9 on Linux.
    assert "jinja2" not in found and "pywin32" not in found
    # `python_version < "3.10"` holds for 3.9, which requires-python allows: still audited, at its line.
    assert {f["start_line"] for f in found["urllib3"]} == {6}
    assert found["urllib3"][0]["properties"]["marker"] == 'python_version < "3.10"'
    unpinned = {f["properties"].get("package") for f in data["findings"] if f["rule_id"] == "deps/unpinned-requirement"}
    assert "enum34" not in unpinned  # never installed, so not worth pinning either
    note = marker_note(data)
    assert "requires-python >=3.9 in pyproject.toml" in note
    assert "requirements.txt:3 Jinja2==2.11.2" in note and "requirements.txt:5 pywin32==227" in note
    assert "urllib3" not in note


def test_python_version_and_platform_options_set_the_target(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    config = 'deps:\n  python_version: "3.11"\n  platform: windows\n'
    write_tree(repo, {"pyproject.toml": PYPROJECT, "requirements.txt": SERVING_REQUIREMENTS, ".aisec.yml": config})
    data = scan(repo, tmp_path)
    found = vulnerable(data)
    assert "urllib3" not in found  # < 3.10 never holds on 3.11
    assert {f["start_line"] for f in found["pywin32"]} == {5}  # Windows is the target now
    assert "Python 3.11 on windows (deps option python_version 3.11)" in marker_note(data)


def test_nearest_setup_cfg_or_poetry_python_decides_per_directory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    legacy = 'urllib3==1.26.4 ; python_version < "3.8"\n'
    write_tree(
        repo,
        {
            # No requires-python at the top: every Python 3 counts, so `< "3.8"` can hold.
            "tools/requirements.txt": legacy,
            "svc/setup.cfg": "[metadata]\nname = svc\n\n[options]\npython_requires = >=3.10\n",
            "svc/deploy/requirements.txt": legacy,
            "trainer/pyproject.toml": '[tool.poetry]\nname = "trainer"\n\n'
            '[tool.poetry.dependencies]\npython = "^3.10"\n',
            "trainer/requirements.txt": legacy,
        },
    )
    data = scan(repo, tmp_path)
    paths = {f["path"] for f in vulnerable(data).get("urllib3", [])}
    assert paths == {"tools/requirements.txt"}
    note = marker_note(data)
    assert "(requires-python >=3.10 in svc/setup.cfg): svc/deploy/requirements.txt:1" in note
    assert "(python ^3.10 in trainer/pyproject.toml): trainer/requirements.txt:1" in note


def test_disputed_and_fixless_advisories_are_low_confidence(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(
        repo,
        {
            "docs/samples/explainer/requirements.txt": "alibi==0.9.4\nscikit-learn==0.20.3\n",
            "paddle/requirements.txt": "paddlepaddle==2.4.0\npaddlepaddle==3.0.0\n",
        },
    )
    found = vulnerable(scan(repo, tmp_path))
    # One finding per pinned version; each advisory keeps its own severity and doubts.
    by_version = {f["properties"]["version"]: f for fs in found.values() for f in fs}
    by_id = {(a["id"], v): a for v, f in by_version.items() for a in f["properties"]["advisories"]}
    sklearn = by_version["0.20.3"]
    for vid in ("PYSEC-2020-107", "PYSEC-2020-108"):  # `** DISPUTED **` CVEs against scikit-learn
        a = by_id[(vid, "0.20.3")]
        assert a["severity"] == "low"
        assert a["confidence"] == "low" and a["low_confidence"] == ["disputed"]
    # Both of its advisories are in doubt: so is the finding, at their (low) severity.
    assert sklearn["severity"] == "low"
    assert sklearn["properties"]["confidence"] == "low" and sklearn["properties"]["low_confidence"] == ["disputed"]
    assert "Low confidence: the CVE is marked disputed" in sklearn["message"]
    # CVSS 9.8 and no fixed version: real but imprecise, so high rather than critical.
    listed = by_id[("PYSEC-2022-43063", "2.4.0")]
    assert listed["severity"] == "high" and listed["cvss_score"] == 9.8
    assert listed["low_confidence"] == ["no-fix"]
    paddle = by_version["2.4.0"]
    assert paddle["severity"] == "high" and "confidence" not in paddle["properties"]  # five others are sure
    assert paddle["properties"]["unfixed_advisories"] == ["PYSEC-2022-43063"]
    assert (
        "1 (PYSEC-2022-43063) has no fixed version. Low confidence for 1 of them (PYSEC-2022-43063)."
        in (paddle["message"])
    )
    # 3.0.0 is newer than every version the record lists; only its open-ended range matches.
    newer = by_version["3.0.0"]
    assert newer["severity"] == "low" and newer["properties"]["advisory_count"] == 1
    assert newer["properties"]["low_confidence"] == ["unlisted-version", "no-fix"]
    assert "No fixed version is known. Low confidence: every affected version" in newer["message"]
    # An advisory with a fix and no doubt keeps its severity and carries no confidence property.
    fixed = by_id[("PYSEC-2023-122", "2.4.0")]
    assert fixed["severity"] == "high" and "confidence" not in fixed


def test_own_package_in_its_extras_is_not_an_unpinned_dependency(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    pyproject = """\
[project]
name = "Model_Kit"
version = "1.2.0"
dependencies = ["numpy>=1.24", "pydantic>=2"]

[project.optional-dependencies]
serve = ["fastapi>=0.110", "uvicorn>=0.29"]
train = ["torch>=2.1"]
all = ["model-kit[serve,train]"]

[dependency-groups]
dev = ["model_kit[all]", "pytest>=8"]
"""
    write_tree(repo, {"pyproject.toml": pyproject, ".aisec.yml": "deps:\n  pyproject_ranges: each\n"})
    data = scan(repo, tmp_path)
    unpinned = {f["properties"]["package"] for f in data["findings"] if f["rule_id"] == "deps/unpinned-requirement"}
    assert unpinned == {"numpy", "pydantic", "fastapi", "uvicorn", "torch", "pytest"}


def test_conda_pins_keep_their_version_in_the_sbom(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = """\
name: train
channels: [pytorch, nvidia, conda-forge]
dependencies:
  - python=3.10
  - pytorch::pytorch=2.0.1=py3.10_cuda11.8_cudnn8.7.0_0
  - pytorch-cuda==11.8
  - numpy 1.24.3
  - scipy>=1.10
  - pip
  - pip:
      - wandb==0.15.4
"""
    write_tree(repo, {"environment.yml": env})
    sbom = tmp_path / "sbom.cdx.json"
    scan(repo, tmp_path, sbom=sbom)
    doc = json.loads(sbom.read_text(encoding="utf-8"))
    versions = {c["name"]: (c.get("version"), c["purl"]) for c in doc["components"]}
    assert versions["pytorch"] == ("2.0.1", "pkg:conda/pytorch@2.0.1")
    assert versions["pytorch-cuda"] == ("11.8", "pkg:conda/pytorch-cuda@11.8")
    assert versions["numpy"] == ("1.24.3", "pkg:conda/numpy@1.24.3")
    assert versions["python"] == ("3.10", "pkg:conda/python@3.10")
    assert versions["scipy"] == (None, "pkg:conda/scipy")  # a range names no version
    assert versions["wandb"] == ("0.15.4", "pkg:pypi/wandb@0.15.4")
