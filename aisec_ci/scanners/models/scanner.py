"""The `models` scanner: serialized models checked for code-execution payloads, never loaded."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.models.containers import (
    MALFORMED_MODEL,
    UNSCANNABLE_CONTAINER,
    FileReport,
    Limits,
    PickleScan,
    Walker,
)
from aisec_ci.scanners.models.gguf_template import GGUF_TEMPLATE_INJECTION
from aisec_ci.scanners.models.keras_config import KERAS_CUSTOM_OBJECT, KERAS_LAMBDA_LAYER, KERAS_UNSAFE_MODULE
from aisec_ci.scanners.models.onnx_graph import ONNX_CUSTOM_OP, ONNX_EXTERNAL_DATA_PATH, symlink_escape
from aisec_ci.scanners.models.pickle_machine import PickleResult
from aisec_ci.scanners.models.pickle_policy import (
    PICKLE_CODE_EXECUTION,
    PICKLE_FORMAT,
    PICKLE_UNKNOWN_IMPORT,
    Policy,
    assess,
)
from aisec_ci.scanners.models.savedmodel_ops import TF_DANGEROUS_OP
from aisec_ci.scanners.models.sniff import is_model_name, is_pickle_name
from aisec_ci.scanners.models.stream import FileBlob
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind


class ModelsScanner(Scanner):
    name: ClassVar[str] = "models"
    description: ClassVar[str] = (
        "Serialized models (pickle, PyTorch, joblib, NumPy, archives) scanned for code-execution payloads "
        "by emulating the pickle machine, without loading them"
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        PICKLE_CODE_EXECUTION,
        PICKLE_UNKNOWN_IMPORT,
        MALFORMED_MODEL,
        UNSCANNABLE_CONTAINER,
        PICKLE_FORMAT,
        GGUF_TEMPLATE_INJECTION,
        KERAS_LAMBDA_LAYER,
        KERAS_UNSAFE_MODULE,
        KERAS_CUSTOM_OBJECT,
        ONNX_EXTERNAL_DATA_PATH,
        ONNX_CUSTOM_OP,
        TF_DANGEROUS_OP,
    )
    kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.MODEL})
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "allowed_globals": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.]*$"},
                "description": "Extra `module.name` globals that pickles may import (your own classes).",
            },
            "denied_globals": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.]*(\.\*)?$"},
                "description": "Extra modules or `module.name` globals treated as code execution.",
            },
            "max_archive_depth": {"type": "integer", "minimum": 1, "maximum": 16},
            "max_inflate_mb": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "description": "Largest compressed archive member inflated in memory to look inside it.",
            },
        },
    }

    def wants(self, file: SourceFile) -> bool:
        # Content decides, so binaries the classifier did not recognise are sniffed
        # too: a raw pickle named `.bin` or `.dat` must not slip through.
        if file.kind in (FileKind.MODEL, FileKind.BINARY):
            return True
        return is_pickle_name(file.path)

    def _policy(self) -> Policy:
        opts = self.context.options
        return Policy(
            extra_allowed=frozenset(str(x) for x in opts.get("allowed_globals", ())),
            extra_denied=frozenset(str(x) for x in opts.get("denied_globals", ())),
        )

    def _limits(self) -> Limits:
        opts = self.context.options
        base = Limits()
        return Limits(
            max_depth=int(opts.get("max_archive_depth", base.max_depth)),
            max_materialise=int(opts.get("max_inflate_mb", base.max_materialise >> 20)) << 20,
        )

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        # Unscannable content is a finding only where a model is expected; a
        # `backup.7z` elsewhere is reported as skipped instead.
        model_path = is_model_name(file.path)
        try:
            handle = open(file.abspath, "rb")  # noqa: SIM115 - closed below; streamed, never read whole
        except OSError as exc:
            raise SkipFile(f"cannot read the file: {exc.strerror or exc}") from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            policy = self._policy()
            walker = Walker(self._limits(), policy)
            report = walker.scan(FileBlob(handle, size), os.path.basename(file.path), model_path=model_path)
        _check_external_data_links(report, str(file.abspath))
        findings = list(report_findings(report, file.path, policy))
        if not findings and report.unscanned:
            raise SkipFile("; ".join(report.unscanned[:3]))
        return findings


def _check_external_data_links(report: FileReport, abspath: str) -> None:
    """ONNX external data of a file on disk (not an archive member) that escapes through a symlink."""
    model_dir = os.path.dirname(abspath)
    for location in sorted({loc for member, loc in report.external_data if not member}):
        why = symlink_escape(model_dir, location)
        if why:
            report.problem(
                ONNX_EXTERNAL_DATA_PATH,
                "",
                f"location:{location}",
                f"external data {location[:120]!r} resolves outside the model directory: {why}",
                "onnx",
            )


def report_findings(report: FileReport, path: str, policy: Policy) -> Iterator[Finding]:
    seen: set[str] = set()

    def emit(
        rule: Rule, key: str, message: str, props: dict[str, Any], severity: Severity | None = None
    ) -> Iterator[Finding]:
        if key in seen:
            return
        seen.add(key)
        yield Finding(
            rule_id=rule.id,
            severity=severity if severity is not None else rule.severity,
            message=message,
            path=path,
            start_line=1,
            snippet="",
            key=key,
            properties=props,
        )

    for scan in report.pickles:
        yield from _pickle_findings(scan, policy, emit)
    for problem in report.problems:
        where = f"{problem.member}: " if problem.member else ""
        yield from emit(
            problem.rule,
            f"{problem.rule.id}|{problem.member}|{problem.subject}",
            f"{where}{problem.message}",
            {"member": problem.member, "format": problem.format},
            problem.severity,
        )
    if report.pickles:
        members = [s.member for s in report.pickles]
        formats = sorted({s.format for s in report.pickles})
        count = sum(len(s.results) for s in report.pickles)
        yield from emit(
            PICKLE_FORMAT,
            "pickle-format",
            f"stores {count} pickle stream(s) ({', '.join(formats)}); any pickle can run code when loaded, "
            "prefer safetensors",
            {"format": formats[0], "formats": formats, "members": members[:20]},
        )


def _flatten(results: list[PickleResult]) -> Iterator[tuple[int, PickleResult]]:
    for index, result in enumerate(results):
        yield index, result
        for nested in result.nested:
            yield index, nested


def _pickle_findings(scan: PickleScan, policy: Policy, emit: Any) -> Iterator[Finding]:
    where = f"{scan.member}: " if scan.member else ""
    for index, result in _flatten(scan.results):
        for issue in assess(result, policy):
            props: dict[str, Any] = {
                "member": scan.member,
                "format": scan.format,
                "imports": issue.imports,
                "offset": issue.offset,
                "pickle_index": index,
            }
            if issue.call:
                props["call"] = issue.call
            yield from emit(
                issue.rule,
                f"{issue.rule.id}|{scan.member}|{issue.subject}",
                where + issue.message,
                props,
                issue.severity,
            )
        if result.limit:
            yield from emit(
                UNSCANNABLE_CONTAINER,
                f"{UNSCANNABLE_CONTAINER.id}|{scan.member}|limit:{index}",
                f"{where}pickle #{index + 1} was not fully analysed: {result.limit}",
                {"member": scan.member, "format": scan.format, "pickle_index": index},
            )
        if result.error is not None and (scan.confident or result.eventful or index > 0):
            imported = sorted({g.dotted for g in result.imports})
            before = f" after importing {', '.join(imported[:5])}" if imported else ""
            yield from emit(
                MALFORMED_MODEL,
                f"{MALFORMED_MODEL.id}|{scan.member}|pickle:{index}",
                f"{where}pickle #{index + 1} breaks at offset {result.error.offset}{before}: {result.error.message}; "
                "loaders run every opcode before the break",
                {
                    "member": scan.member,
                    "format": scan.format,
                    "offset": result.error.offset,
                    "pickle_index": index,
                    "imports": imported[:20],
                },
            )
