"""`aisec-ci image TARGET`: one streaming pass over the layers, then the audits of what the final
filesystem holds, the config checks, and the same suppression, profile, redaction and gate as a
repository scan."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aisec_ci.errors import UsageError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.image.config_checks import config_findings, config_secret_findings
from aisec_ci.image.contents import Collector, FileResult
from aisec_ci.image.dockerfile_map import DockerfileMap, Origin
from aisec_ci.image.layers import FileSystemState, Tracked, WalkReport, walk_layers, walk_rootfs
from aisec_ci.image.python_audit import audit_python
from aisec_ci.image.rules import IMAGE_INCOMPLETE
from aisec_ci.image.source import ImageSource, open_image
from aisec_ci.pipeline import load_project_config
from aisec_ci.redaction import Redactor
from aisec_ci.result import ScanResult
from aisec_ci.roles import Role
from aisec_ci.scanners.deps.model import Dependency
from aisec_ci.scanners.secrets.content import ContentScanner
from aisec_ci.severity import Severity
from aisec_ci.suppress.apply import apply_suppressions
from aisec_ci.triage import triage
from aisec_ci.workspace.files import SkippedFile

IMAGE_SCANNERS = ("packages", "secrets", "models", "config")
"""What `--scanners` can pick for an image: OS and Python package audits, secrets in files, config
and history, model files, and the config checks (user, ports, health check)."""
REPORT_SCANNERS = ["deps", "image", "models", "secrets"]
"""The rule catalogs an image report describes (SARIF lists every rule of these)."""


@dataclass
class ImageOptions:
    target: Path
    dockerfile: Path | None = None
    config_path: Path | None = None
    scanners: list[str] | None = None
    fail_on: Severity | None = Severity.HIGH
    fail_on_set: bool = False
    profile: str | None = None
    offline: bool = False
    sbom: Path | None = None
    baseline: Path | None = None
    min_severity: Severity | None = None
    env: Mapping[str, str] | None = None
    today: dt.date | None = None
    root: Path = field(default_factory=Path.cwd)
    """The repository the image was built from (config, baseline, Dockerfile paths): the current
    directory's git top level by default."""


def run_image_scan(opts: ImageOptions) -> ScanResult:
    enabled = set(opts.scanners if opts.scanners is not None else IMAGE_SCANNERS)
    unknown = sorted(enabled - set(IMAGE_SCANNERS))
    if unknown:
        raise UsageError(
            f"--scanners: {', '.join(unknown)} not known for images (choose from {', '.join(IMAGE_SCANNERS)})"
        )
    root = opts.root
    config = load_project_config(opts.config_path, root)
    env = dict(opts.env) if opts.env is not None else dict(os.environ)
    fail_on = opts.fail_on if opts.fail_on_set else (config.fail_on if config.fail_on_set else Severity.HIGH)
    dockerfile_text = _read_dockerfile(opts.dockerfile) if opts.dockerfile is not None else None
    notes: list[str] = []
    skipped: list[SkippedFile] = []
    findings: list[Finding] = []

    with open_image(opts.target) as source:
        notes.extend(source.notes)
        where = opts.target.name
        state = FileSystemState()
        options = {name: dict(config.scanner_options.get(name, {})) for name in ("secrets", "models", "deps")}
        collector = Collector(
            state,
            options,
            run_secrets="secrets" in enabled,
            run_models="models" in enabled,
            run_packages="packages" in enabled,
        )
        report = WalkReport()
        if source.rootfs is not None:
            walk_rootfs(source.rootfs, collector, report)
        else:
            report = walk_layers(source, state, collector)
        skipped.extend(collector.skipped)
        skipped.extend(SkippedFile(_printable(name), why) for name, why in report.refused)
        if report.refused:
            notes.append(
                f"image: {len(report.refused)} layer entr{'y was' if len(report.refused) == 1 else 'ies were'} "
                "refused (absolute paths or `..`: they would land outside the image's root when unpacked)"
            )
        for layer, why in report.unreadable:
            findings.append(
                Finding(
                    rule_id=IMAGE_INCOMPLETE.id,
                    severity=IMAGE_INCOMPLETE.severity,
                    message=f"Layer {layer.index} ({layer.name}) was not scanned to its end: {why}.",
                    path=where,
                    key=f"layer:{layer.digest or layer.name}",
                    properties={"layer": layer.index, "layer_digest": layer.digest},
                )
            )
        findings.extend(_file_findings(state))
        packages_found: dict[str, Any] = {}
        if "packages" in enabled:
            os_findings, os_notes, packages_found = _os_packages(state, options["deps"], env, opts.offline, root)
            findings.extend(os_findings)
            notes.extend(os_notes)
            py = _python_packages(state)
            py_findings, py_notes = audit_python([d for d, _ in py], options["deps"], env, opts.offline, root)
            findings.extend(py_findings)
            notes.extend(py_notes)  # the deps engine's own notes (sources, snapshot), as a repository scan words them
            packages_found["python"] = py
            if collector.counters.distro_python:
                notes.append(
                    f"image: {collector.counters.distro_python} Python distributions under "
                    "usr/lib/python3/dist-packages belong to Debian packages and are audited with them, "
                    "not against PyPI's versions"
                )
        if "config" in enabled and source.rootfs is None:
            findings.extend(config_findings(source.config, where))
        if "secrets" in enabled and source.rootfs is None:
            scanner = ContentScanner(options["secrets"], skip_allowlisted=True)
            findings.extend(config_secret_findings(source.config, where, scanner))
        findings = _fingerprinted(findings)
        if dockerfile_text is not None and opts.dockerfile is not None:
            mapping = DockerfileMap(
                _repo_path(opts.dockerfile, root), dockerfile_text, source.config, len(source.layers)
            )
            notes.extend(mapping.notes)
            findings = [_traced(f, mapping, where, packages_found) for f in findings]
        if opts.sbom is not None:
            from aisec_ci.image.sbom import write_image_sbom

            write_image_sbom(opts.sbom, _image_name(source), packages_found)
        files_scanned = (
            collector.counters.secrets_files
            + collector.counters.model_files
            + collector.counters.python_metadata
            + collector.counters.databases
        )
        by_kind = {
            "layer": len(source.layers) or 1,
            "text (secrets)": collector.counters.secrets_files,
            "model": collector.counters.model_files,
            "python metadata": collector.counters.python_metadata,
            "package database": collector.counters.databases,
        }

    baseline: frozenset[str] = frozenset()
    if opts.baseline is not None:
        from aisec_ci.suppress.baseline import load_baseline

        baseline = load_baseline(opts.baseline)
    from aisec_ci.scanners.registry import catalog

    cat = catalog()
    outcome = apply_suppressions(
        findings,
        config=config,
        baseline=baseline,
        today=opts.today or dt.date.today(),
        config_relpath=config.path.name if config.path is not None else None,
        baseline_name=opts.baseline.name if opts.baseline is not None else None,
        catalog=cat,
    )
    kept = outcome.kept + [f for f in outcome.extra_findings if f.rule_id == "core/expired-ignore"]
    profile = opts.profile or config.profile or "default"
    switches = frozenset(rule_id for rule_id, o in config.rules.items() if o.enabled)
    # Roles (test, docs, vendor ...) describe a repository's files; an image's files are all shipped.
    kept, triaged = triage(kept, catalog=cat, profile=profile, role_of=lambda _path: Role.SOURCE, forced_rules=switches)
    redactor = Redactor()
    kept = [redactor.finding(f) for f in kept]
    suppressed = [
        replace(s, finding=redactor.finding(s.finding), reason=redactor.text(s.reason)) for s in outcome.suppressed
    ]
    return ScanResult(
        findings=kept,
        suppressed=suppressed,
        skipped=[SkippedFile(redactor.text(s.path), redactor.text(s.reason)) for s in skipped],
        scanners=REPORT_SCANNERS,
        files_scanned=files_scanned,
        files_by_kind={k: v for k, v in by_kind.items() if v},
        fail_on=fail_on,
        notes=[redactor.text(n) for n in notes],
        profile=profile,
        triage=triaged,
        min_severity=opts.min_severity or config.min_severity,
    )


def _read_dockerfile(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(4 * 1024 * 1024 + 1)
    except OSError as exc:
        raise UsageError(f"--dockerfile {path}: {exc.strerror or exc}") from None
    if len(data) > 4 * 1024 * 1024:
        raise UsageError(f"--dockerfile {path}: larger than 4 MiB; not a Dockerfile")
    return data.decode("utf-8", errors="replace")


def _repo_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:300]


def _image_name(source: ImageSource) -> str:
    return source.tags[0] if source.tags else source.target.name


# --- files -----------------------------------------------------------------


def _file_findings(state: FileSystemState) -> list[Finding]:
    """Findings of the final filesystem's files, plus secrets of versions a later layer deleted or
    replaced (still in the image). A secret still present at the same path is reported once."""
    out: list[Finding] = []
    live: set[tuple[str, str, str]] = set()
    for item in sorted(state.current.values(), key=lambda t: t.path):
        result = item.payload
        if isinstance(result, FileResult) and result.findings:
            for f in result.findings:
                live.add((f.path, f.rule_id, f.key or f.snippet))
                out.append(_with_layer(f, item))
    seen: set[tuple[str, str, str]] = set()
    for item in sorted(state.removed, key=lambda t: (t.path, t.layer)):
        result = item.payload
        if not isinstance(result, FileResult) or result.category != "secrets":
            continue  # a deleted model or package is not loaded or run by the image
        for f in result.findings:
            ident = (f.path, f.rule_id, f.key or f.snippet)
            if ident in live or ident in seen:
                continue
            seen.add(ident)
            how = "deleted" if item.removed_how == "deleted" else "overwritten"
            f = f.evolve(
                message=f"{f.message.rstrip('.')} — in layer {item.layer}; the file was {how} by layer "
                f"{item.removed_in}, but the earlier layer still holds it and anyone with the image can extract it.",
            )
            out.append(_with_layer(f, item))
    return out


def _with_layer(f: Finding, item: Tracked) -> Finding:
    props = dict(f.properties)
    props["image_path"] = item.path
    props["layer"] = item.layer
    if item.removed_in is not None:
        props["removed_in_layer"] = item.removed_in
        props["removed_how"] = item.removed_how
    return f.evolve(properties=props)


def _fingerprinted(findings: list[Finding]) -> list[Finding]:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    out: list[Finding] = []
    for path in sorted(by_path):
        # The scanner is the rule's family (deps, secrets, models, image): what reports group by.
        out.extend(f.evolve(scanner=f.rule_id.split("/", 1)[0]) for f in assign_fingerprints(by_path[path], None))
    return out


# --- packages --------------------------------------------------------------


def _python_packages(state: FileSystemState) -> list[tuple[Dependency, int]]:
    found = []
    for item in state.current.values():
        result = item.payload
        if isinstance(result, FileResult) and result.category == "python" and result.dependency is not None:
            found.append((result.dependency, item.layer))
    return sorted(found, key=lambda pair: (pair[0].canonical, pair[0].version or "", pair[0].path))


def _text_of(state: FileSystemState, path: str) -> tuple[str, int] | None:
    item = state.current.get(path)
    if item is None or not isinstance(item.payload, FileResult):
        return None
    return item.payload.text, item.layer


def _os_release(state: FileSystemState) -> tuple[str, int] | None:
    """etc/os-release, or what its symlink points at (Debian's `../usr/lib/os-release`)."""
    own = _text_of(state, "etc/os-release")
    if own is not None:
        return own
    target = state.symlinks.get("etc/os-release")
    if target:
        resolved = (
            os.path.normpath(os.path.join("etc", target)).lstrip("/")
            if not target.startswith("/")
            else target.lstrip("/")
        )
        found = _text_of(state, resolved)
        if found is not None:
            return found
    return _text_of(state, "usr/lib/os-release")


def _os_packages(
    state: FileSystemState, options: Mapping[str, Any], env: Mapping[str, str], offline: bool, root: Path
) -> tuple[list[Finding], list[str], dict[str, Any]]:
    from aisec_ci.image.os_vulns import audit_os_packages
    from aisec_ci.image.ospackages import parse_apk_installed, parse_dpkg_status, parse_os_release

    release = _os_release(state)
    distro = parse_os_release(release[0]) if release is not None else None
    packages = []
    layers: dict[tuple[str, str], int] = {}
    for path, item in sorted(state.current.items()):
        result = item.payload
        if not isinstance(result, FileResult):
            continue
        if result.category == "dpkg":
            parsed = parse_dpkg_status(result.text, path)
        elif result.category == "dpkg-status.d":
            parsed = parse_dpkg_status(result.text, path, status_d=True)
        elif result.category == "apk":
            parsed = parse_apk_installed(result.text, path)
        else:
            continue
        packages.extend(parsed)
        for pkg in parsed:
            layers[(pkg.name, pkg.version)] = item.layer
    # The layer that first installed each package: earlier versions of the database list it too.
    for item in sorted(state.removed, key=lambda t: t.layer):
        result = item.payload
        if isinstance(result, FileResult) and result.category in ("dpkg", "apk"):
            parse = parse_apk_installed if result.category == "apk" else parse_dpkg_status
            for pkg in parse(result.text, item.path):
                key = (pkg.name, pkg.version)
                if key in layers and item.layer < layers[key]:
                    layers[key] = item.layer
    found: dict[str, Any] = {"os": packages, "distro": distro, "os_layers": layers}
    if not packages:
        return [], [], found
    findings, notes = audit_os_packages(packages, distro, options, env, offline, root)
    return findings, notes, found


# --- Dockerfile ------------------------------------------------------------


def _traced(f: Finding, mapping: DockerfileMap, where: str, packages: Mapping[str, Any]) -> Finding:
    """The finding moved to the Dockerfile line that put its file (or setting) in the image; the
    in-image location stays in the message and the properties."""
    props = dict(f.properties)
    origin: Origin | None = None
    field_name = props.get("image_field")
    if f.path == where:
        if field_name == "User":
            origin = mapping.user()
        elif field_name == "ExposedPorts" and isinstance(props.get("port"), int):
            origin = mapping.expose(int(props["port"]))
        elif field_name == "Env":
            origin = mapping.env(str(f.key).split(":")[2] if f.key.count(":") >= 2 else "")
        else:
            origin = mapping.base()
    else:
        layer = props.get("layer")
        if f.rule_id == "image/vulnerable-os-package":
            layer = _os_layer(f, packages)
        elif layer is None:
            layer = _python_layer(f, packages)
        origin = mapping.layer(int(layer)) if isinstance(layer, int) else mapping.base()
    if origin is None:
        return f
    props.setdefault("image_path", f.path)
    props["dockerfile_line"] = origin.line
    if origin.from_base:
        props["from_base_image"] = True
    if f.path == where:
        context = f"image config; see {mapping.path}:{origin.line}"
    elif origin.from_base:
        context = f"image: {props['image_path']}, from the base image ({mapping.path}:{origin.line})"
    else:
        layer_text = f", layer {props['layer']}" if "layer" in props else ""
        context = f"image: {props['image_path']}{layer_text}, added by {mapping.path}:{origin.line}"
    return f.evolve(
        path=mapping.path,
        start_line=origin.line,
        end_line=origin.end_line if origin.end_line >= origin.line else None,
        start_column=1,
        end_column=None,
        snippet=origin.instruction,
        message=f"{f.message.rstrip()} [{context}]",
        properties=props,
    )


def _python_layer(f: Finding, packages: Mapping[str, Any]) -> int | None:
    for dep, layer in packages.get("python", ()):
        if dep.path == f.path:
            return int(layer)
    return None


def _os_layer(f: Finding, packages: Mapping[str, Any]) -> int | None:
    layers: Mapping[tuple[str, str], int] = packages.get("os_layers", {})
    for pkg in packages.get("os", ()):
        if pkg.path == f.path and pkg.line == f.start_line:
            return layers.get((pkg.name, pkg.version))
    return None
