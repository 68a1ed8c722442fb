"""GGUF chat templates: Jinja2 that llama.cpp-based servers render with every request.

The template lives in the file's key/value store (`tokenizer.chat_template`
and named variants). Servers that render it in a non-sandboxed Jinja2
environment run whatever the template reaches through Python's object graph
(CVE-2024-34359 in llama-cpp-python, later vLLM and SGLang). The KV store
is parsed from the header without loading tensors.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.stream import Blob, ByteStream
from aisec_ci.severity import Severity

GGUF_TEMPLATE_INJECTION = Rule(
    id="models/gguf-template-injection",
    name="GGUF chat template reaches Python internals",
    short_description="A GGUF model's chat template uses Jinja2 server-side template injection gadgets.",
    severity=Severity.CRITICAL,
    what=(
        "Reads the GGUF key/value store and checks every `tokenizer.chat_template*` value for Jinja2 gadgets "
        "that walk Python's object graph (`__class__`, `__mro__`, `__subclasses__`, `__globals__`, "
        "`__builtins__`, `__import__`) or run commands (`popen`, `os.`, `subprocess`, `eval`)."
    ),
    why=(
        "llama-cpp-python, vLLM and SGLang rendered chat templates in an unsandboxed Jinja2 environment, so a "
        "GGUF file from a model hub ran commands on the inference server (CVE-2024-34359, CVE-2026-5760)."
    ),
    example="{{ ''.__class__.__mro__[1].__subclasses__()[104].__init__.__globals__['sys'].modules['os'].popen('id') }}",
    fix=(
        "Do not serve the model. Use a template from a trusted source, and render templates with "
        "`jinja2.sandbox.ImmutableSandboxedEnvironment`."
    ),
    tags=("CWE-1336", "CWE-94"),
    precision="high",
    references=("https://github.com/abetlen/llama-cpp-python/security/advisories/GHSA-56xg-wfcc-g829",),
)

GGUF_MAGIC = b"GGUF"
MAX_KV = 1_000_000
MAX_STRING = 64 << 20
MAX_ARRAY = 50_000_000

GADGETS = (
    ("__class__", re.compile(r"__class__")),
    ("__mro__", re.compile(r"__mro__|__base__|__bases__")),
    ("__subclasses__", re.compile(r"__subclasses__")),
    ("__globals__", re.compile(r"__globals__")),
    ("__builtins__", re.compile(r"__builtins__")),
    ("__import__", re.compile(r"__import__")),
    ("__init__", re.compile(r"\.__init__\b")),
    ("__getattribute__", re.compile(r"__getattribute__|__dict__|__code__|__reduce")),
    ("popen", re.compile(r"\bpopen\b", re.IGNORECASE)),
    ("os module", re.compile(r"\bos\s*\.\s*(system|popen|exec|spawn)|\[\s*['\"]os['\"]\s*\]")),
    ("subprocess", re.compile(r"\bsubprocess\b")),
    ("eval/exec", re.compile(r"\b(eval|exec)\s*\(")),
)

_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class GgufError(Exception):
    pass


def template_gadgets(template: str) -> list[str]:
    return [name for name, pattern in GADGETS if pattern.search(template)]


def read_templates(blob: Blob) -> Iterator[tuple[str, str]]:
    """(key, template) for every chat-template key in the KV store."""
    stream = blob.stream()
    head = stream.read(24)
    if len(head) < 24 or not head.startswith(GGUF_MAGIC):
        raise GgufError("not a GGUF file")
    version = struct.unpack_from("<I", head, 4)[0]
    if version not in (2, 3):
        raise GgufError(f"unsupported GGUF version {version}")
    (kv_count,) = struct.unpack_from("<Q", head, 16)
    if kv_count > MAX_KV:
        raise GgufError(f"implausible key/value count {kv_count}")
    for _ in range(kv_count):
        key = _string(stream, keep=True)
        vtype = _u32(stream)
        if vtype == 8 and key.startswith("tokenizer.chat_template"):
            yield key, _string(stream, keep=True)
        else:
            _skip_value(stream, vtype)


def _u32(stream: ByteStream) -> int:
    raw = stream.read(4)
    if len(raw) < 4:
        raise GgufError("truncated key/value store")
    return int(struct.unpack("<I", raw)[0])


def _u64(stream: ByteStream) -> int:
    raw = stream.read(8)
    if len(raw) < 8:
        raise GgufError("truncated key/value store")
    return int(struct.unpack("<Q", raw)[0])


def _string(stream: ByteStream, *, keep: bool) -> str:
    length = _u64(stream)
    if length > MAX_STRING:
        raise GgufError(f"string of {length} bytes is implausibly long")
    if not keep:
        if stream.skip(length) != length:
            raise GgufError("truncated string")
        return ""
    raw = stream.read(length)
    if len(raw) < length:
        raise GgufError("truncated string")
    return raw.decode("utf-8", "replace")


def _skip_value(stream: ByteStream, vtype: int, depth: int = 0) -> None:
    if vtype in _SCALAR_SIZES:
        size = _SCALAR_SIZES[vtype]
        if stream.skip(size) != size:
            raise GgufError("truncated value")
    elif vtype == 8:
        _string(stream, keep=False)
    elif vtype == 9:
        if depth > 4:
            raise GgufError("arrays nested too deeply")
        item_type = _u32(stream)
        count = _u64(stream)
        if count > MAX_ARRAY:
            raise GgufError(f"array of {count} items is implausibly long")
        if item_type in _SCALAR_SIZES:
            size = _SCALAR_SIZES[item_type] * count
            if stream.skip(size) != size:
                raise GgufError("truncated array")
        else:
            for _ in range(count):
                _skip_value(stream, item_type, depth + 1)
    else:
        raise GgufError(f"unknown value type {vtype}")
