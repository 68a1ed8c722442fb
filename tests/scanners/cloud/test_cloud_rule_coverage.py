"""Every rule of both scanners fires on at least one unsafe fixture (no dead rules),
and the *-safe fixtures stay clean of everything enabled by default."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.cloud import SCANNER as CLOUD
from aisec_ci.scanners.kubernetes import SCANNER as KUBERNETES
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _cloud_kind(path: Path) -> FileKind:
    name = path.name
    if name.endswith(".tf"):
        return FileKind.TERRAFORM
    if name.endswith(".conf"):
        return FileKind.NGINX
    if name.startswith("Dockerfile"):
        return FileKind.DOCKERFILE
    if name.startswith("docker-compose"):
        return FileKind.COMPOSE
    if name.startswith(("cloudformation", "sagemaker")):
        return FileKind.CLOUDFORMATION
    if name.startswith("openapi"):
        return FileKind.YAML
    if name.endswith(".json"):
        return FileKind.IAM_POLICY
    return FileKind.TEXT


def _all(switches: dict[str, bool] | None = None) -> dict[Path, list[Finding]]:
    """`switches`: the config's explicit `enabled` per rule id, as the pipeline passes it."""
    out: dict[Path, list[Finding]] = {}
    k8s = KUBERNETES(ScanContext(root=FIXTURES, rule_switches=switches or {}))
    for p in sorted((FIXTURES / "kubernetes").rglob("*.yaml")):
        try:
            out[p] = list(k8s.scan_file(SourceFile(p.name, p, FileKind.KUBERNETES, p.stat().st_size)))
        except SkipFile:
            out[p] = []
    # Whole-tree checks see the cross-file fixture repository as one tree.
    tree = sorted((FIXTURES / "kubernetes" / "crossfile").rglob("*.yaml"))
    repo_files = [SourceFile(p.name, p, FileKind.KUBERNETES, p.stat().st_size) for p in tree]
    for f in k8s.scan_repository(repo_files):
        out.setdefault(FIXTURES / "kubernetes" / "crossfile" / f.path, []).append(f)
    cloud = CLOUD(ScanContext(root=FIXTURES))
    for p in sorted((FIXTURES / "cloud").iterdir()):
        if p.is_file() and p.name != "realworld-snapshot.json":
            out[p] = list(cloud.scan_file(SourceFile(p.name, p, _cloud_kind(p), p.stat().st_size)))
        elif p.is_dir():
            # A Terraform module: its checks across files run in the whole-tree pass.
            tf = sorted(p.glob("*.tf"))
            files = [SourceFile(f.name, f, FileKind.TERRAFORM, f.stat().st_size) for f in tf]
            out[p] = list(cloud.scan_repository(files))
            for f in tf:
                out[p].extend(cloud.scan_file(SourceFile(f.name, f, FileKind.TERRAFORM, f.stat().st_size)))
    return out


def test_every_rule_fires_somewhere() -> None:
    fired = {f.rule_id for fs in _all().values() for f in fs}
    # The per-setting restricted rules that k8s/restricted-controls-missing folds in are
    # reported on their own only when the config switches them on.
    off = {r.id: True for r in KUBERNETES.rules if not r.enabled_by_default}
    fired |= {f.rule_id for fs in _all(off).values() for f in fs}
    declared = {r.id for r in (*KUBERNETES.rules, *CLOUD.rules)}
    assert declared - fired == set()


# What each safe Kubernetes fixture is about; the others must be clean of everything.
_TOPICS = {
    "exposure-safe.yaml": ("exposure/", "k8s/ingress"),
    "volumes-safe.yaml": (
        "k8s/host-path",
        "k8s/sensitive-host-path",
        "k8s/writable-model",
        "k8s/unbounded-shm",
        "k8s/restricted-volume",
    ),
}


def test_safe_fixtures_are_clean() -> None:
    # Audit-profile rules (informational, low confidence) may speak on safe manifests.
    enabled = {r.id for r in (*KUBERNETES.rules, *CLOUD.rules) if r.enabled_by_default and r.profile != "audit"}
    safe = {p: fs for p, fs in _all().items() if "safe" in p.stem and "unsafe" not in p.stem}
    assert len(safe) >= 12
    for path, fs in safe.items():
        topic = _TOPICS.get(path.name, ("",))
        noisy = [(f.rule_id, f.start_line) for f in fs if f.rule_id in enabled and f.rule_id.startswith(topic)]
        assert noisy == [], path.name
