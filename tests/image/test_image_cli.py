"""`aisec-ci image` end to end: images built from files with the standard library (docker save,
OCI layouts, a root filesystem), scanned through the real CLI."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
from make_image import LayerEntry, build_docker_save, build_oci_layout

from tests.conftest import SHARED, load_json, run_cli

# A fake key of the OpenAI project-key shape, assembled so that no file of the repository holds it.
OPENAI_KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" + "T3BlbkFJ" + "Qr7sTu0vWx3yZa6bCd9eFg2h"
HF_TOKEN = "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi"
# A pickle that calls os.system('id') when loaded, written opcode by opcode (never pickled, never loaded).
EVIL_PICKLE = (
    b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."
)
METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nLong description.\n"
OSV_PYPI = SHARED / "data" / "advisories" / "osv-pypi"


def _config(history: list[str], **cfg: Any) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin"], **cfg},
        "history": [{"created_by": h} for h in history],
    }


def _site(name: str, version: str) -> LayerEntry:
    path = f"usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA"
    return LayerEntry(path, METADATA.format(name=name, version=version).encode())


def _layers() -> list[list[LayerEntry]]:
    return [
        [LayerEntry("etc/hostname", b"localhost\n")],
        [_site("mlflow", "1.30.0"), _site("requests", "2.32.3"), _site("oldpkg", "1.0")],
        [
            LayerEntry("app/serve.py", b"print('serving')\n"),
            LayerEntry("app/.env", f"OPENAI_API_KEY={OPENAI_KEY}\n".encode()),
            LayerEntry("app/models/classifier.pkl", EVIL_PICKLE),
        ],
        [
            LayerEntry("app/.env", kind="whiteout"),
            LayerEntry("usr/local/lib/python3.11/site-packages/oldpkg-1.0.dist-info", kind="whiteout"),
        ],
    ]


HISTORY = [
    "/bin/sh -c #(nop) ADD file:0123abcd in / ",
    "RUN /bin/sh -c pip install mlflow==1.30.0 requests==2.32.3 oldpkg==1.0 # buildkit",
    "COPY app /app # buildkit",
    "RUN /bin/sh -c rm /app/.env # buildkit",
]
DOCKERFILE = (
    "FROM python:3.11-slim\n"
    "RUN pip install mlflow==1.30.0 requests==2.32.3 oldpkg==1.0\n"
    "COPY app /app\n"
    "RUN rm /app/.env\n"
    "EXPOSE 5000\n"
    'CMD ["python", "/app/serve.py"]\n'
)


@pytest.fixture
def osv_db(tmp_path: Path) -> Path:
    if not OSV_PYPI.is_dir():
        pytest.skip("../shared/data/advisories is not beside the checkout")
    db = tmp_path / "osv-db"
    db.mkdir()
    # PYSEC-2023-70 (CVE-2023-30172): mlflow before 2.0.1, path traversal in the tracking server.
    shutil.copy(OSV_PYPI / "PYSEC-2023-70.json", db)
    return db


def _image(tmp_path: Path, fmt: str = "docker", **cfg: Any) -> Path:
    config = _config(HISTORY, ExposedPorts={"5000/tcp": {}}, **cfg)
    if fmt == "docker":
        out = tmp_path / "image.tar"
        build_docker_save(out, _layers(), config)
    elif fmt == "oci-dir":
        out = tmp_path / "oci"
        build_oci_layout(out, _layers(), config)
    else:
        out = tmp_path / "oci.tar"
        build_oci_layout(out, _layers(), config, as_tar=True)
    return out


def _scan(target: Path, *extra: str | Path, db: Path | None = None, cwd: Path | None = None) -> tuple[int, Any, str]:
    out = target.parent / "report.json"
    env = {"AISEC_OSV_DB": str(db)} if db is not None else None
    proc = run_cli("image", target, "--offline", "-f", "json", "-o", out, *extra, env=env, cwd=cwd or target.parent)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, load_json(out), proc.stderr


def _by_rule(report: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for f in report["findings"]:
        found.setdefault(f["rule_id"], []).append(f)
    return found


@pytest.mark.parametrize("fmt", ["docker", "oci-dir", "oci-tar"])
def test_every_image_format_yields_the_same_findings(tmp_path: Path, osv_db: Path, fmt: str) -> None:
    code, report, _ = _scan(_image(tmp_path, fmt), db=osv_db)
    assert code == 1  # the critical secret and pickle fail the default gate
    rules = _by_rule(report)
    # The key was deleted by layer 4 but is still in layer 3 of the image.
    (secret,) = rules["secrets/openai-api-key"]
    assert secret["path"] == "app/.env"
    assert secret["properties"]["layer"] == 3
    assert secret["properties"]["removed_in_layer"] == 4
    assert "deleted by layer 4" in secret["message"]
    (pickle,) = rules["models/pickle-code-execution"]
    assert pickle["path"] == "app/models/classifier.pkl"
    (vuln,) = rules["deps/vulnerable-package"]
    assert vuln["path"] == "usr/local/lib/python3.11/site-packages/mlflow-1.30.0.dist-info/METADATA"
    assert vuln["start_line"] == 3  # the Version header
    assert "PYSEC-2023-70" in json.dumps(vuln["properties"])
    # The package a later layer uninstalled is gone from the filesystem: not audited, not reported.
    assert "oldpkg" not in json.dumps(report)
    assert {f["rule_id"] for f in rules["image/root-user"] + rules["image/exposed-ml-port"]} == {
        "image/root-user",
        "image/exposed-ml-port",
    }
    fingerprints = [f["fingerprint"] for f in report["findings"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_formats_agree_on_fingerprints(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, one, _ = _scan(_image(tmp_path / "a", "docker"), db=osv_db)
    _, two, _ = _scan(_image(tmp_path / "b", "oci-tar"), db=osv_db)
    shape = [(f["rule_id"], f["path"], f["fingerprint"]) for f in one["findings"] if f["path"] != "image.tar"]
    other = [(f["rule_id"], f["path"], f["fingerprint"]) for f in two["findings"] if f["path"] != "oci.tar"]
    assert shape == other


def test_no_output_ever_holds_the_secret(tmp_path: Path, osv_db: Path) -> None:
    target = _image(tmp_path, Env=[f"HF_TOKEN={HF_TOKEN}", "PATH=/usr/bin"])
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    outputs = {fmt: tmp_path / f"r.{ext}" for fmt, ext in (("json", "json"), ("sarif", "sarif"), ("markdown", "md"))}
    args: list[str | Path] = ["image", target, "--offline", "--dockerfile", tmp_path / "Dockerfile"]
    for fmt, path in outputs.items():
        args += ["-f", fmt, "-o", path]
    args += ["-f", "text", "--sbom", tmp_path / "sbom.json"]
    proc = run_cli(*args, env={"AISEC_OSV_DB": str(osv_db)}, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    blobs = [proc.stdout, proc.stderr] + [p.read_text() for p in [*outputs.values(), tmp_path / "sbom.json"]]
    for blob in blobs:
        assert OPENAI_KEY not in blob
        assert HF_TOKEN not in blob
        assert OPENAI_KEY[8:30] not in blob and HF_TOKEN[3:25] not in blob
    report = load_json(outputs["json"])
    env_hits = [f for f in report["findings"] if f["properties"].get("image_field") == "Env"]
    assert env_hits and env_hits[0]["rule_id"].startswith("secrets/")


def test_dockerfile_traces_findings_to_the_lines_that_made_them(tmp_path: Path, osv_db: Path) -> None:
    target = _image(tmp_path)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    _, report, _ = _scan(target, "--dockerfile", tmp_path / "Dockerfile", db=osv_db)
    lines = {f["rule_id"]: (f["path"], f["start_line"]) for f in report["findings"]}
    assert lines["deps/vulnerable-package"] == ("Dockerfile", 2)  # RUN pip install
    assert lines["secrets/openai-api-key"] == ("Dockerfile", 3)  # COPY app /app
    assert lines["models/pickle-code-execution"] == ("Dockerfile", 3)
    assert lines["image/exposed-ml-port"] == ("Dockerfile", 5)  # EXPOSE 5000
    assert lines["image/root-user"] == ("Dockerfile", 1)  # no USER: the FROM line
    vuln = next(f for f in report["findings"] if f["rule_id"] == "deps/vulnerable-package")
    assert vuln["properties"]["image_path"].endswith("mlflow-1.30.0.dist-info/METADATA")
    assert "added by Dockerfile:2" in vuln["message"]


def test_sarif_of_an_image_validates(tmp_path: Path, osv_db: Path, sarif_validate: Any) -> None:
    target = _image(tmp_path)
    out = tmp_path / "image.sarif"
    proc = run_cli("image", target, "--offline", "-o", out, env={"AISEC_OSV_DB": str(osv_db)}, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    log = load_json(out)
    sarif_validate(log)
    run = log["runs"][0]
    assert run["automationDetails"]["id"].startswith("aisec-ci-image")
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {"image/root-user", "secrets/openai-api-key", "deps/vulnerable-package"} <= rule_ids


def test_sbom_lists_python_packages_with_purl_and_layer(tmp_path: Path, osv_db: Path) -> None:
    target = _image(tmp_path)
    _scan(target, "--sbom", tmp_path / "sbom.json", db=osv_db)
    sbom = load_json(tmp_path / "sbom.json")
    assert sbom["bomFormat"] == "CycloneDX"
    purls = {c["purl"]: c for c in sbom["components"]}
    mlflow = purls["pkg:pypi/mlflow@1.30.0"]
    props = {p["name"]: p["value"] for p in mlflow["properties"]}
    assert props["aisec-ci:layer"] == "2"
    assert not any("oldpkg" in p for p in purls)


def test_rootfs_directory(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "app").mkdir(parents=True)
    (root / "app" / "settings.py").write_text(f'OPENAI_API_KEY = "{OPENAI_KEY}"\n')
    (root / "app" / "model.pkl").write_bytes(EVIL_PICKLE)
    (root / "usr" / "lib" / "x").mkdir(parents=True)
    (root / "usr" / "lib" / "x" / "test_keys.py").write_text(f'KEY = "{OPENAI_KEY}"\n')  # a package's own file
    # Seen scanning a real Debian machine's root: pyenv's CPython ships test keys and test pickles,
    # site-packages ship `.pth` path files and data files a model reader cannot parse.
    stdlib = root / "root" / ".pyenv" / "versions" / "3.11.7" / "lib" / "python3.11"
    (stdlib / "test").mkdir(parents=True)
    (stdlib / "test" / "test_ssl.py").write_text(f'KEY = "{OPENAI_KEY}"\n')
    (stdlib / "test" / "randv2_32.pck").write_bytes(b"\x80\x02crandom\nRandom\nq\x00)\x81q\x01.")
    (stdlib / "site-packages" / "evil").mkdir(parents=True)
    (stdlib / "site-packages" / "distutils-precedence.pth").write_text("import os; x = 1\n")
    (stdlib / "site-packages" / "evil" / "weights.pkl").write_bytes(EVIL_PICKLE)
    (stdlib / "site-packages" / "evil" / "broken.pkl").write_bytes(b"\x80\x04junk")
    code, report, _ = _scan(root)
    assert code == 1
    paths = {(f["rule_id"], f["path"]) for f in report["findings"]}
    assert ("secrets/openai-api-key", "app/settings.py") in paths
    assert ("models/pickle-code-execution", "app/model.pkl") in paths
    # A payload that runs code stays reported wherever it is; the libraries' test data does not.
    evil = "root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/evil/weights.pkl"
    assert ("models/pickle-code-execution", evil) in paths
    assert {p for _, p in paths} == {"app/settings.py", "app/model.pkl", evil}


def _raw_docker_save(out: Path, layer_members: list[tuple[str, bytes]], history: int = 1) -> None:
    """A docker save archive whose one layer holds exactly `layer_members` (names unchecked)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in layer_members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    layer = buf.getvalue()
    config = json.dumps(_config(["COPY x /x"] * history)).encode()
    with tarfile.open(out, "w") as tf:
        for name, data in (("l/layer.tar", layer), ("c.json", config)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        manifest = json.dumps([{"Config": "c.json", "RepoTags": ["t:1"], "Layers": ["l/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tf.addfile(info, io.BytesIO(manifest))


def test_members_escaping_the_root_are_refused_and_listed(tmp_path: Path) -> None:
    target = tmp_path / "evil.tar"
    secret = f"OPENAI_API_KEY={OPENAI_KEY}\n".encode()
    _raw_docker_save(target, [("../../etc/cron.d/x", secret), ("/abs/.env", secret), ("ok/.env", secret)])
    _, report, _ = _scan(target)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "refused" in skipped["../../etc/cron.d/x"]
    assert "refused" in skipped["/abs/.env"]
    assert [f["path"] for f in report["findings"] if f["rule_id"] == "secrets/openai-api-key"] == ["ok/.env"]


def test_a_corrupt_layer_is_reported_not_passed(tmp_path: Path) -> None:
    target = tmp_path / "image.tar"
    build_docker_save(target, [[LayerEntry("a.txt", b"x\n")]], _config(["COPY a.txt /"]))
    # Replace the layer with gzip garbage: the image opens, the layer does not.
    with tarfile.open(target) as tf:
        members = [(m, tf.extractfile(m).read() if m.isreg() else b"") for m in tf.getmembers()]  # type: ignore[union-attr]
    broken = tmp_path / "broken.tar"
    with tarfile.open(broken, "w") as tf:
        for m, data in members:
            if m.name.endswith(("layer.tar", ".tar")) or ("blobs/" in m.name and len(data) > 1000):
                data = gzip.compress(b"not a tar at all")[:-4]
            m.size = len(data)
            tf.addfile(m, io.BytesIO(data))
    _, report, _ = _scan(broken)
    incomplete = [f for f in report["findings"] if f["rule_id"] == "image/incomplete-scan"]
    assert incomplete and "layer 1" in incomplete[0]["message"].lower()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not a tar archive\n" * 100, "not a tar archive"),
        (None, "no such file"),
    ],
)
def test_unreadable_targets_exit_2_naming_the_file(tmp_path: Path, content: bytes | None, expected: str) -> None:
    target = tmp_path / "thing.tar"
    if content is not None:
        target.write_bytes(content)
    proc = run_cli("image", target, "--offline", cwd=tmp_path)
    assert proc.returncode == 2
    assert "thing.tar" in proc.stderr and expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tar_without_image_metadata_says_what_it_is_not(tmp_path: Path) -> None:
    target = tmp_path / "plain.tar"
    with tarfile.open(target, "w") as tf:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"hi\n"))
    proc = run_cli("image", target, cwd=tmp_path)
    assert proc.returncode == 2
    assert "plain.tar" in proc.stderr and "manifest.json" in proc.stderr


def test_oci_digest_cannot_name_a_path_outside_blobs(tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    build_oci_layout(layout, [[LayerEntry("a.txt", b"x\n")]], _config(["COPY a.txt /"]))
    index = load_json(layout / "index.json")
    index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
    (layout / "index.json").write_text(json.dumps(index))
    proc = run_cli("image", layout, cwd=tmp_path)
    assert proc.returncode == 2
    assert "is not sha256:<hex>" in proc.stderr


def test_history_build_arg_secret_is_found(tmp_path: Path) -> None:
    target = tmp_path / "image.tar"
    history = [f"RUN |1 HF_TOKEN={HF_TOKEN} /bin/sh -c huggingface-cli download org/model # buildkit"]
    build_docker_save(target, [[LayerEntry("a.txt", b"x\n")]], _config(history))
    _, report, _ = _scan(target)
    hits = [f for f in report["findings"] if f["properties"].get("image_field") == "history"]
    assert hits and hits[0]["rule_id"] == "secrets/huggingface-token"
    assert HF_TOKEN not in json.dumps(report)


def test_strict_profile_adds_the_health_check(tmp_path: Path) -> None:
    target = _image(tmp_path)
    _, default, _ = _scan(target)
    _, strict, _ = _scan(target, "--profile", "strict")
    assert "image/no-healthcheck" not in _by_rule(default)
    assert "image/no-healthcheck" in _by_rule(strict)


def test_scanners_option_limits_the_work(tmp_path: Path) -> None:
    target = _image(tmp_path)
    _, report, _ = _scan(target, "--scanners", "config")
    assert {f["rule_id"].split("/")[0] for f in report["findings"]} == {"image"}
    proc = run_cli("image", target, "--scanners", "bogus", cwd=tmp_path)
    assert proc.returncode == 2 and "bogus" in proc.stderr


def test_rules_command_lists_image_rules() -> None:
    proc = run_cli("rules", "--scanner", "image")
    assert proc.returncode == 0
    assert "image/root-user" in proc.stdout and "image/incomplete-scan" in proc.stdout


def test_shared_layer_symlink_and_gzipped_archive(tmp_path: Path) -> None:
    """Classic `docker save` links a layer two entries share (`l2/layer.tar -> ../l1/layer.tar`),
    and users compress the whole archive (`docker save IMAGE | gzip > image.tar.gz`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = f"OPENAI_API_KEY={OPENAI_KEY}\n".encode()
        info = tarfile.TarInfo("app/.env")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    layer = buf.getvalue()
    config = json.dumps(_config(["COPY app /app", "COPY app /app"])).encode()
    manifest = json.dumps([{"Config": "c.json", "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode()
    plain = tmp_path / "image.tar"
    with tarfile.open(plain, "w") as tf:
        for name, blob in (("l1/layer.tar", layer), ("c.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
        link = tarfile.TarInfo("l2/layer.tar")
        link.type = tarfile.SYMTYPE
        link.linkname = "../l1/layer.tar"
        tf.addfile(link)
        escape = tarfile.TarInfo("l3/layer.tar")
        escape.type = tarfile.SYMTYPE
        escape.linkname = "../../../etc/passwd"
        tf.addfile(escape)
    packed = tmp_path / "image.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for target in (plain, packed):
        _, report, _ = _scan(target)
        (hit,) = [f for f in report["findings"] if f["rule_id"] == "secrets/openai-api-key"]
        assert hit["path"] == "app/.env"
    # A manifest naming the link that leaves the archive is refused, with the member named.
    bad = tmp_path / "bad.tar"
    with tarfile.open(plain) as src, tarfile.open(bad, "w") as tf:
        for m in src.getmembers():
            blob = src.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            if m.name == "manifest.json":
                blob = json.dumps([{"Config": "c.json", "Layers": ["l3/layer.tar"]}]).encode()
                m.size = len(blob)
            tf.addfile(m, io.BytesIO(blob) if m.isreg() else None)
    _, report, _ = _scan(bad)
    (incomplete,) = [f for f in report["findings"] if f["rule_id"] == "image/incomplete-scan"]
    assert "l3/layer.tar" in incomplete["message"] and "not in the archive" in incomplete["message"]
