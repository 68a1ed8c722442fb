"""The README's image example: the bundled spec built with tools/make_image.py, scanned with the
Dockerfile it mirrors, against real advisories (DSA-5514-1 for glibc, PYSEC-2024-51 for mlflow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, REPO, SHARED, load_json, run_cli

OSV_FIXTURES = REPO / "tests" / "fixtures" / "image" / "osv"


def test_example_image_as_the_readme_scans_it(tmp_path: Path) -> None:
    pysec = SHARED / "data" / "advisories" / "osv-pypi" / "PYSEC-2024-51.json"
    if not pysec.is_file():
        pytest.skip("../shared/data/advisories is not beside the checkout")
    db = tmp_path / "osv"
    db.mkdir()
    shutil.copy(pysec, db)
    shutil.copy(OSV_FIXTURES / "DSA-5514-1.json", db)
    image = tmp_path / "example-image.tar"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_image.py"), str(EXAMPLE / "image"), "-o", str(image)], check=True
    )
    out = tmp_path / "r.json"
    proc = run_cli(
        "image", image, "--offline", "--dockerfile", "examples/vulnerable-ai-app/image/Dockerfile",
        "--sbom", tmp_path / "sbom.json", "-f", "json", "-o", out,
        cwd=REPO, env={"AISEC_OSV_DB": str(db)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    found = {(f["rule_id"], f["start_line"]) for f in load_json(out)["findings"]}
    dockerfile = "examples/vulnerable-ai-app/image/Dockerfile"
    assert {f["path"] for f in load_json(out)["findings"]} == {dockerfile}
    assert {
        ("image/vulnerable-os-package", 3),  # glibc came with the base image: the FROM line
        ("deps/vulnerable-package", 7),  # mlflow 2.9.2: the pip install line
        ("secrets/openai-api-key", 8),  # the COPY that added the .env a later RUN deleted
        ("models/pickle-code-execution", 8),
        ("secrets/huggingface-token", 5),  # ENV
        ("image/root-user", 3),
        ("image/exposed-ml-port", 11),
    } <= found
    glibc = next(f for f in load_json(out)["findings"] if f["rule_id"] == "image/vulnerable-os-package")
    assert "DSA-5514-1" in glibc["message"] and "CVE-2023-4911" in glibc["message"]
    purls = {c["purl"] for c in load_json(tmp_path / "sbom.json")["components"]}
    assert "pkg:pypi/mlflow@2.9.2" in purls
    assert any(p.startswith("pkg:deb/debian/libc6@2.36-9%2Bdeb12u1") for p in purls)
