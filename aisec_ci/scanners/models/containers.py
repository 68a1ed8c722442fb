"""Walk a model file's containers down to its pickles.

Handles PyTorch zip (and TorchScript) archives, legacy stacked-pickle and tar
checkpoints, joblib, npy/npz, zlib/gzip/bzip2/xz/lzma wrappers and nested
archives, within depth, size and ratio limits. Tensor data is never read:
PyTorch storages are not even opened, and large payloads inside pickles are
skipped by seeking. Every member is scanned in isolation, so one broken
member never hides the next.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.gguf_template import GGUF_TEMPLATE_INJECTION, GgufError, read_templates, template_gadgets
from aisec_ci.scanners.models.keras_config import (
    KERAS_METADATA_NAME,
    config_issues,
    h5_model_configs,
    parse_config,
    saved_metadata_configs,
)
from aisec_ci.scanners.models.numpy_formats import NpyError, joblib_build_hook, read_npy_header
from aisec_ci.scanners.models.onnx_graph import onnx_issues
from aisec_ci.scanners.models.pickle_machine import Budget, Global, PickleResult, analyse_stream
from aisec_ci.scanners.models.pickle_policy import Policy
from aisec_ci.scanners.models.protobuf_wire import WireError
from aisec_ci.scanners.models.safetensors_header import safetensors_problems
from aisec_ci.scanners.models.savedmodel_ops import graph_issues
from aisec_ci.scanners.models.sniff import (
    identify,
    identify_head,
    is_model_name,
    is_pickle_name,
    looks_like_text_pickle,
)
from aisec_ci.scanners.models.stream import (
    Blob,
    BytesBlob,
    ByteStream,
    CorruptData,
    DecompressStream,
    LimitExceeded,
    read_all,
)
from aisec_ci.scanners.models.zip_walker import ZipEntry, ZipError, crc_matches, member_stream, walk_zip
from aisec_ci.severity import Severity

MALFORMED_MODEL = Rule(
    id="models/malformed-model",
    name="Malformed model file",
    short_description="A model file or archive member is corrupt or deliberately inconsistent.",
    severity=Severity.MEDIUM,
    what=(
        "Reports pickle streams that break before their STOP opcode, model files that are empty (info) or "
        "hold only zero bytes, zip archives whose CRCs, flag bits, "
        "local names or duplicate members disagree with the central directory, and other structures that a "
        "loader may accept while a scanner chokes on them."
    ),
    why=(
        "The unpickler executes opcodes one by one, so a payload placed before a deliberate break still runs "
        "(the nullifAI models on Hugging Face did exactly this). Zip inconsistencies that PyTorch ignores were "
        "used to blind zipfile-based scanners (CVE-2025-1944, CVE-2025-1945, CVE-2025-10156)."
    ),
    example="model.pt: archive/data.pkl: stream ends before STOP at offset 52",
    fix="Re-export the model from its source with a current library; do not load a file that does not parse.",
    tags=("CWE-502", "CWE-20"),
    precision="high",
)

UNSCANNABLE_CONTAINER = Rule(
    id="models/unscannable-container",
    name="Model container cannot be scanned",
    short_description="A model path holds an encrypted, unsupported or oversized container that was not scanned.",
    severity=Severity.HIGH,
    what=(
        "Reports model files and members that cannot be analysed: 7z archives, lz4-compressed joblib dumps, "
        "encrypted or unsupported zip "
        "compression methods, decompression bombs, nesting deeper than the limit and pickles larger than the "
        "analysis budget."
    ),
    why=(
        "What cannot be scanned cannot be trusted: attackers pack malicious PyTorch models in 7z (nullifAI) or "
        "exotic compression precisely because scanners skip them while some loaders still read them."
    ),
    example="model.pt is a 7z archive",
    fix="Repackage the model as a plain PyTorch zip or, better, safetensors, and scan it again.",
    tags=("CWE-502", "CWE-409"),
    precision="high",
)

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TAR_MEMBERS = ("sys_info", "pickle", "storages", "tensors")


@dataclass(frozen=True)
class Limits:
    max_depth: int = 4
    max_materialise: int = 64 << 20
    """Largest compressed member that is inflated into memory to walk it as an archive."""
    max_decompressed: int = 8 << 30
    """Largest decompressed stream analysed as a pickle (streamed, never held in memory)."""
    max_ratio: int = 1000
    max_members: int = 100_000
    crc_check_size: int = 16 << 20


@dataclass
class PickleScan:
    member: str
    format: str
    results: list[PickleResult]
    confident: bool
    """The bytes are known to be a pickle (magic, name or position), so a parse failure is malformed."""


@dataclass
class Problem:
    rule: Rule
    member: str
    subject: str
    message: str
    format: str = ""
    severity: Severity | None = None
    """Overrides the rule's severity (an empty file is worth a note, not a gate failure)."""


@dataclass
class FileReport:
    pickles: list[PickleScan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    unscanned: list[str] = field(default_factory=list)
    """Content outside model paths that could not be scanned (reported as a skip reason)."""
    external_data: list[tuple[str, str]] = field(default_factory=list)
    """(member, location) of every ONNX external-data reference, for the on-disk symlink check."""

    def problem(
        self, rule: Rule, member: str, subject: str, message: str, fmt: str = "", severity: Severity | None = None
    ) -> None:
        self.problems.append(Problem(rule, member, subject, message, fmt, severity))

    def note_format(self, fmt: str) -> None:
        if fmt not in self.formats:
            self.formats.append(fmt)


def join_member(parent: str, name: str) -> str:
    return f"{parent}!/{name}" if parent else name


class Walker:
    def __init__(self, limits: Limits, policy: Policy | None = None) -> None:
        self.limits = limits
        self.policy = policy if policy is not None else Policy()
        self.report = FileReport()
        self.budget = Budget()

    # -- entry ---------------------------------------------------------------------------
    def scan(self, blob: Blob, name: str, *, model_path: bool) -> FileReport:
        self.model_path = model_path
        self.content(blob, member="", name=name, depth=0, wrapper="", model_path=model_path)
        return self.report

    def in_model_path(self, member: str) -> bool:
        """Whether the file, or an archive member on the way to `member`, is named as a model."""
        return self.model_path or any(is_model_name(part) for part in member.split("!/") if part)

    def unscannable(self, member: str, subject: str, message: str, fmt: str) -> None:
        """Report content that could not be scanned: a finding in a model path, else a skip reason."""
        if self.in_model_path(member):
            self.report.problem(UNSCANNABLE_CONTAINER, member, subject, message, fmt)
        else:
            where = f"{member}: " if member else ""
            self.report.unscanned.append(f"{where}{message}")

    def content(self, blob: Blob, *, member: str, name: str, depth: int, wrapper: str, model_path: bool) -> None:
        head = blob.read_at(0, 1024)
        if not head:
            # Only a name that promises a model makes emptiness worth a note: an empty
            # `.foo` in a test tarball or a torch archive's marker file is no model.
            if is_model_name(name):
                # Loaders refuse an empty file outright, so nothing can run: a note, not a gate failure.
                self.report.problem(
                    MALFORMED_MODEL, member, "empty", "the model file is empty", "empty", severity=Severity.INFO
                )
            return
        lower = name.lower()
        if head[0] == 0 and is_model_name(name) and _zero_filled(blob):
            self.report.note_format("zeros")
            self.report.problem(
                MALFORMED_MODEL,
                member,
                "zeros",
                f"{_zeros_seen(blob.size())}: not a model in any format (an interrupted download or a placeholder?)",
                "zeros",
            )
            return
        if lower.endswith(".safetensors"):
            self.safetensors_named(blob, head, member=member, name=name, depth=depth, wrapper=wrapper)
            return
        views = identify(head, blob)
        if not views:
            if lower.endswith(".onnx"):
                self.protobuf("onnx", blob, member)
            elif lower.rsplit("/", 1)[-1] == KERAS_METADATA_NAME:
                self.keras_metadata(blob, member)
            elif lower.endswith(".pb"):
                self.protobuf("tensorflow", blob, member)
            elif looks_like_text_pickle(head):
                self.pickle_stream(blob.stream(), member, _fmt(wrapper, "pickle"), confident=is_pickle_name(name))
            return
        for view in views:
            self.view(view, blob, member=member, name=name, depth=depth, wrapper=wrapper, model_path=model_path)

    def view(
        self, view: str, blob: Blob, *, member: str, name: str, depth: int, wrapper: str, model_path: bool
    ) -> None:
        if view == "pickle":
            self.pickle_stream(blob.stream(), member, _fmt(wrapper, "pickle"), confident=True)
        elif view == "zip":
            # An end-of-central-directory record found only in the tail may be chance bytes.
            self.zip(blob, member, depth, wrapper, found_in_tail=identify_head(blob.read_at(0, 4)) != "zip")
        elif view == "tar":
            self.tar(blob, member, depth, wrapper)
        elif view == "npy":
            self.npy(blob.stream(), member, _fmt(wrapper, "npy"))
        elif view in ("gzip", "bzip2", "xz", "zlib", "lzma", "joblib-zfile"):
            self.compressed(view, blob.stream(), member=member, name=name, depth=depth, wrapper=wrapper)
        elif view == "lz4":
            self.report.note_format(_fmt(wrapper, "lz4"))
            self.unscannable(
                member,
                "lz4",
                "is lz4-compressed (joblib compress='lz4'); the scanner has no lz4 decoder, so its pickle "
                "was not scanned",
                _fmt(wrapper, "lz4"),
            )
        elif view == "7z":
            self.report.note_format("7z")
            self.unscannable(
                member,
                "7z",
                "is a 7z archive; its members cannot be scanned (malicious PyTorch models have been packed "
                "in 7z to evade scanners)",
                "7z",
            )
        elif view == "gguf":
            self.gguf(blob, member)
        elif view == "hdf5":
            self.report.note_format("hdf5")
            for config in h5_model_configs(blob):
                self.keras(config, member, "hdf5")
        elif view == "safetensors":
            self.report.note_format("safetensors")
            for text in safetensors_problems(blob):
                self.report.problem(MALFORMED_MODEL, member, f"safetensors:{text[:50]}", f"safetensors: {text}", view)
        else:
            self.report.note_format(view)

    def safetensors_named(self, blob: Blob, head: bytes, *, member: str, name: str, depth: int, wrapper: str) -> None:
        """A `.safetensors` name: the bytes are read the way safetensors reads them, first.

        Its 8-byte little-endian header length can start with any byte (0x80 0x02
        for a 640-byte header), so a magic-number guess would take valid files for
        pickles or zlib streams. Only a file that is not valid safetensors is also
        looked at as a container, and a pickle in it counts only if it imports something.
        """
        self.report.note_format("safetensors")
        problems = safetensors_problems(blob)
        for text in problems:
            self.report.problem(
                MALFORMED_MODEL, member, f"safetensors:{text[:50]}", f"safetensors: {text}", "safetensors"
            )
        if not problems:
            return
        for view in identify(head, blob):
            if view == "pickle":
                self.pickle_stream(blob.stream(), member, _fmt(wrapper, "pickle"), confident=False)
            elif view in _STRONG_MAGIC_VIEWS:
                self.view(view, blob, member=member, name=name, depth=depth, wrapper=wrapper, model_path=True)

    # -- formats without pickles ---------------------------------------------------------
    def gguf(self, blob: Blob, member: str) -> None:
        self.report.note_format("gguf")
        try:
            for key, template in read_templates(blob):
                gadgets = template_gadgets(template)
                if gadgets:
                    self.report.problem(
                        GGUF_TEMPLATE_INJECTION,
                        member,
                        f"template:{key}",
                        f"chat template {key} uses {', '.join(gadgets)}: server-side template injection "
                        "runs code on the inference server",
                        "gguf",
                    )
        except GgufError as exc:
            self.report.problem(MALFORMED_MODEL, member, "gguf", f"has an unreadable GGUF header: {exc}", "gguf")

    def keras(self, config: object, member: str, fmt: str) -> None:
        for issue in config_issues(config, self.policy):
            self.report.problem(issue.rule, member, issue.subject, f"Keras {issue.message}", fmt)

    def keras_metadata(self, blob: Blob, member: str) -> None:
        self.report.note_format("keras-savedmodel")
        try:
            for config in saved_metadata_configs(blob):
                self.keras(config, member, "keras-savedmodel")
        except WireError as exc:
            self.report.problem(
                MALFORMED_MODEL,
                member,
                "keras-metadata",
                f"is not a readable Keras SavedModel metadata protobuf: {exc}",
                "keras-savedmodel",
            )

    def protobuf(self, kind: str, blob: Blob, member: str) -> None:
        self.report.note_format(kind)
        try:
            if kind == "onnx":
                locations: list[str] = []
                for o in onnx_issues(blob, locations):
                    self.report.problem(o.rule, member, o.subject, o.message, kind)
                self.report.external_data.extend((member, loc) for loc in locations)
            else:
                for t in graph_issues(blob):
                    self.report.problem(t.rule, member, t.subject, t.message, kind)
        except WireError as exc:
            if member or kind == "onnx":
                self.report.problem(MALFORMED_MODEL, member, kind, f"is not a readable {kind} protobuf: {exc}", kind)

    # -- pickles -------------------------------------------------------------------------
    def pickle_stream(self, stream: ByteStream, member: str, fmt: str, *, confident: bool) -> None:
        def legacy_done(results: list[PickleResult]) -> bool:
            # torch's legacy format: magic, protocol, sys_info, the object, storage keys, then raw data.
            return len(results) >= 5 and results[0].value == TORCH_LEGACY_MAGIC

        try:
            results = analyse_stream(stream, build_hook=joblib_build_hook, stop_after=legacy_done, budget=self.budget)
        except LimitExceeded as exc:
            self.report.problem(UNSCANNABLE_CONTAINER, member, "limit", f"was not fully scanned: {exc}", fmt)
            return
        if not results:
            return
        if results[0].value == TORCH_LEGACY_MAGIC and results[0].stopped:
            fmt = fmt.replace("pickle", "pytorch-legacy")
        elif _imports_joblib(results):
            fmt = fmt.replace("pickle", "joblib")
        if not confident and not results[0].stopped and not results[0].eventful:
            return  # not a pickle after all
        self.report.note_format(fmt)
        self.report.pickles.append(PickleScan(member, fmt, results, confident))

    # -- numpy ---------------------------------------------------------------------------
    def npy(self, stream: ByteStream, member: str, fmt: str) -> None:
        self.report.note_format(fmt)
        try:
            header = read_npy_header(stream)
        except NpyError as exc:
            self.report.problem(MALFORMED_MODEL, member, "npy-header", f"has an unreadable .npy header: {exc}", fmt)
            return
        if header.has_object:
            # numpy stores object arrays as a pickle right after the header.
            self.pickle_stream(stream, member, fmt.replace("npy", "npy-object"), confident=True)

    # -- compression ---------------------------------------------------------------------
    def compressed(self, method: str, stream: ByteStream, *, member: str, name: str, depth: int, wrapper: str) -> None:
        if method == "joblib-zfile":
            # joblib < 0.9.3: "ZF", a hex length padded to 19 characters, then zlib data
            stream.skip(2 + 19)
            if stream.peek(1) == b" ":
                stream.skip(1)
            method = "zlib"
        label = _fmt(wrapper, method)
        inner = DecompressStream(
            stream, method, max_output=self.limits.max_decompressed, max_ratio=self.limits.max_ratio
        )
        try:
            head = inner.peek(1024)
            kind = identify_head(head)
            if kind in ("pickle", None) and (kind == "pickle" or looks_like_text_pickle(head)):
                self.pickle_stream(
                    inner, member, _fmt(label, "pickle"), confident=kind == "pickle" or is_pickle_name(name)
                )
            elif kind == "npy":
                self.npy(inner, member, _fmt(label, "npy"))
            elif kind is not None:
                if depth + 1 > self.limits.max_depth:
                    self._too_deep(member, label)
                    return
                data = read_all(inner, self.limits.max_materialise)
                self.content(BytesBlob(data), member=member, name=name, depth=depth + 1, wrapper=label, model_path=True)
        except LimitExceeded as exc:
            self.unscannable(member, f"limit:{method}", f"was not fully scanned: {exc}", label)
        except CorruptData as exc:
            self.report.problem(MALFORMED_MODEL, member, f"corrupt:{method}", f"is corrupt: {exc}", label)

    def _too_deep(self, member: str, fmt: str) -> None:
        self.unscannable(
            member,
            "depth",
            f"nests archives deeper than {self.limits.max_depth} levels; the inner content was not scanned",
            fmt,
        )

    # -- zip -----------------------------------------------------------------------------
    def zip(self, blob: Blob, member: str, depth: int, wrapper: str, *, found_in_tail: bool = False) -> None:
        try:
            listing = walk_zip(blob, self.limits.max_members)
        except ZipError as exc:
            if not found_in_tail:
                self.report.problem(MALFORMED_MODEL, member, "zip", f"is not a readable zip archive: {exc}", "zip")
            return
        names = [e.name for e in listing.entries]
        torch_prefixes = sorted({n[: -len("data.pkl")] for n in names if n == "data.pkl" or n.endswith("/data.pkl")})
        if torch_prefixes:
            fmt = "torchscript" if any("/code/" in n or n.startswith("code/") for n in names) else "pytorch-zip"
        elif "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names):
            fmt = "keras"
        elif names and all(n.endswith(".npy") for n in names if not n.endswith("/")):
            fmt = "npz"
        else:
            fmt = "zip"
        fmt = _fmt(wrapper, fmt)
        self.report.note_format(fmt)
        for text in listing.anomalies:
            severity = None
            if listing.shift and text == listing.shift_anomaly and not self.in_model_path(member):
                # A launcher before a zip is how zipapps (.pyz, .pex) and self-extractors are
                # built; it matters where a loader may read the prefix as a pickle (.pt, .bin).
                severity = Severity.INFO
            self.report.problem(
                MALFORMED_MODEL, member, f"zip:{text[:60]}", f"zip structure: {text}", fmt, severity=severity
            )
        if fmt.endswith("keras"):
            self.keras_zip(blob, listing.entries, member, fmt)
        for entry in listing.entries:
            if entry.is_dir:
                continue
            if any(entry.name.startswith(p + "data/") for p in torch_prefixes) and entry.in_central_directory:
                continue  # tensor storage: raw bytes torch never unpickles
            child = join_member(member, entry.name)
            try:
                self.zip_member(blob, entry, child, depth, fmt)
            except (ZipError, CorruptData, NpyError, struct.error, ValueError, OSError) as exc:
                self.report.problem(MALFORMED_MODEL, child, "member", f"could not be read: {exc}", fmt)
            except LimitExceeded as exc:
                self.unscannable(child, "limit", f"was not fully scanned: {exc}", fmt)

    def keras_zip(self, blob: Blob, entries: list[ZipEntry], member: str, fmt: str) -> None:
        for entry in entries:
            if entry.name != "config.json" or not entry.supported:
                continue
            child = join_member(member, entry.name)
            try:
                raw = read_all(member_stream(blob, entry, max_output=self.limits.max_materialise), 32 << 20)
                config = parse_config(raw)
            except (ValueError, ZipError, CorruptData, LimitExceeded) as exc:
                self.report.problem(MALFORMED_MODEL, child, "keras-config", f"is not readable: {exc}", fmt)
                continue
            self.keras(config, child, fmt)

    def zip_member(self, blob: Blob, entry: ZipEntry, child: str, depth: int, fmt: str) -> None:
        for text in entry.anomalies:
            self.report.problem(MALFORMED_MODEL, child, f"zip:{text[:40]}", f"zip member: {text}", fmt)
        if not entry.supported:
            self.unscannable(
                child,
                f"method:{entry.method}",
                f"uses {entry.method_name}, which the scanner cannot read",
                fmt,
            )
            return
        if entry.data_offset is None:
            return
        if (
            entry.uncompressed_size <= self.limits.crc_check_size
            and entry.compressed_size <= self.limits.max_materialise
        ):
            check = member_stream(blob, entry, max_output=self.limits.crc_check_size + 1)
            try:
                matches = crc_matches(check, entry.crc)
            except (CorruptData, LimitExceeded):
                matches = False
            if not matches:
                self.report.problem(
                    MALFORMED_MODEL,
                    child,
                    "crc",
                    "zip member CRC does not match its data (PyTorch does not check CRCs; zipfile raises)",
                    fmt,
                )
        stream = member_stream(blob, entry, max_output=self.limits.max_decompressed)
        head = stream.peek(1024)
        kind = identify_head(head)
        # Pickles inside a PyTorch archive are labelled by the archive; elsewhere as zip:pickle.
        inner_fmt = fmt if fmt.endswith(("pytorch-zip", "torchscript")) else _fmt(fmt, "pickle")
        if kind == "pickle" or (kind is None and is_pickle_name(entry.name) and head):
            self.pickle_stream(stream, child, inner_fmt, confident=True)
        elif kind is None:
            # Protobuf models first: their first byte can pass for a text-pickle opcode.
            if entry.name.lower().endswith((".onnx", ".pb")):
                if entry.method != 0 and entry.uncompressed_size > self.limits.max_materialise:
                    # Large zipped graphs are common; holding one in memory is not worth a gate failure.
                    self.report.unscanned.append(
                        f"{child}: compressed protobuf larger than max_inflate_mb, not checked"
                    )
                    return
                self.nested(blob, entry, stream, child, depth, fmt)
            elif looks_like_text_pickle(head):
                self.pickle_stream(stream, child, inner_fmt, confident=False)
        elif kind == "npy":
            self.npy(stream, child, _fmt(fmt, "npy") if fmt != "npz" else "npz")
        elif kind in ("gzip", "bzip2", "xz", "zlib", "lzma", "joblib-zfile"):
            self.compressed(kind, stream, member=child, name=entry.name, depth=depth, wrapper=fmt)
        else:
            self.nested(blob, entry, stream, child, depth, fmt)

    def nested(self, blob: Blob, entry: ZipEntry, stream: ByteStream, child: str, depth: int, fmt: str) -> None:
        """Scan a zip member as content of its own (an archive, or a model format found by name)."""
        if depth + 1 > self.limits.max_depth:
            self._too_deep(child, fmt)
            return
        if entry.method == 0 and entry.data_offset is not None:
            sub: Blob = blob.slice(entry.data_offset, entry.compressed_size)
        else:
            sub = BytesBlob(read_all(stream, self.limits.max_materialise))
        self.content(sub, member=child, name=entry.name, depth=depth + 1, wrapper=fmt, model_path=True)

    # -- tar -----------------------------------------------------------------------------
    def tar(self, blob: Blob, member: str, depth: int, wrapper: str) -> None:
        try:
            entries = list_tar(blob, self.limits.max_members)
        except TarError as exc:
            self.report.problem(MALFORMED_MODEL, member, "tar", f"is not a readable tar archive: {exc}", "tar")
            return
        names = {n for n, _, _ in entries}
        fmt = _fmt(wrapper, "pytorch-tar" if {"pickle", "storages"} <= names else "tar")
        self.report.note_format(fmt)
        if depth + 1 > self.limits.max_depth:
            self._too_deep(member, fmt)
            return
        for name, offset, size in entries:
            child = join_member(member, name)
            sub = blob.slice(offset, size)
            if fmt.endswith("pytorch-tar") and name in LEGACY_TAR_MEMBERS:
                self.pickle_stream(sub.stream(), child, fmt, confident=True)
                continue
            try:
                self.content(sub, member=child, name=name, depth=depth + 1, wrapper=fmt, model_path=True)
            except (ZipError, CorruptData, NpyError, struct.error, ValueError, OSError) as exc:
                self.report.problem(MALFORMED_MODEL, child, "member", f"could not be read: {exc}", fmt)


_STRONG_MAGIC_VIEWS = frozenset({"zip", "tar", "npy", "gzip", "bzip2", "xz", "7z", "gguf", "hdf5"})
"""Views whose magic number is long enough to trust in a file that claims another format."""

_ZERO_SAMPLES = 16
_ZERO_BLOCK = 1 << 16


def _zero_filled(blob: Blob) -> bool:
    """Whether the content is zero bytes throughout: read whole up to 1 MiB, sampled beyond
    (16 blocks spread over the file and its last block), so a sparse 10 GB file costs 1 MiB of reads."""
    size = blob.size()
    if size <= _ZERO_SAMPLES * _ZERO_BLOCK:
        offsets = list(range(0, size, _ZERO_BLOCK))
    else:
        offsets = [size * k // _ZERO_SAMPLES for k in range(_ZERO_SAMPLES)] + [size - _ZERO_BLOCK]
    for offset in offsets:
        block = blob.read_at(offset, _ZERO_BLOCK)
        if block.count(0) != len(block):
            return False
    return True


def _zeros_seen(size: int) -> str:
    if size <= _ZERO_SAMPLES * _ZERO_BLOCK:
        return f"holds nothing but zero bytes ({size} bytes)"
    return f"reads as zero bytes throughout ({size} bytes, {_ZERO_SAMPLES + 1} blocks of 64 KiB sampled)"


def _fmt(wrapper: str, fmt: str) -> str:
    if not wrapper:
        return fmt
    if not fmt:
        return wrapper
    return f"{wrapper}:{fmt}"


def _imports_joblib(results: list[PickleResult]) -> bool:
    return any(
        isinstance(g, Global) and g.module.startswith(("joblib.", "sklearn.externals.joblib"))
        for r in results
        for g in r.imports
    )


class TarError(Exception):
    pass


def list_tar(blob: Blob, max_members: int) -> list[tuple[str, int, int]]:
    """(name, data offset, size) of every regular file, from the headers alone."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    size = blob.size()
    long_name: str | None = None
    while pos + 512 <= size and len(out) < max_members:
        header = blob.read_at(pos, 512)
        if header == b"\0" * 512:
            break
        checksum_field = header[148:156]
        try:
            stored = int(checksum_field.strip(b"\0 ") or b"0", 8)
        except ValueError:
            raise TarError(f"bad header checksum field at offset {pos}") from None
        if stored != sum(header[:148]) + 32 * 8 + sum(header[156:]):
            raise TarError(f"header checksum mismatch at offset {pos}")
        length = _tar_number(header[124:136])
        typeflag = header[156:157]
        name = header[0:100].split(b"\0", 1)[0]
        if header[257:262] == b"ustar":
            prefix = header[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        text = name.decode("utf-8", "backslashreplace")
        data = pos + 512
        if data + length > size:
            raise TarError(f"member {text!r} runs past the end of the archive")
        if typeflag == b"L":
            long_name = blob.read_at(data, min(length, 4096)).split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
        elif typeflag == b"x":
            for record in blob.read_at(data, min(length, 65536)).split(b"\n"):
                if b" path=" in record:
                    long_name = record.split(b" path=", 1)[1].decode("utf-8", "backslashreplace")
        elif typeflag in (b"0", b"\0", b"7"):
            out.append((long_name or text, data, length))
            long_name = None
        else:
            long_name = None
        pos = data + (length + 511) // 512 * 512
    return out


def _tar_number(field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):
        # GNU base-256 for sizes over 8 GiB
        value = int.from_bytes(field[1:], "big")
        return -value if field[:1] == b"\xff" else value
    try:
        return int(field.strip(b"\0 ") or b"0", 8)
    except ValueError:
        raise TarError("bad size field") from None
