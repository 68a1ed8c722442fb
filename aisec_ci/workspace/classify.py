"""Decide what kind of file a path is: by its name first, by its first bytes second.

Everything here runs once per file on tens of thousands of files, so the name
rules are set and dict lookups on the lower-cased base name, content sniffing
is a handful of substring checks on the head (at most `HEAD_SIZE` bytes), and
a regular expression only runs on YAML/JSON heads that already contain `AWS::`.
"""

from __future__ import annotations

import re

from aisec_ci.workspace.kinds import FileKind

HEAD_SIZE = 8192
"""How many leading bytes discovery reads for classification and binary detection."""

# Extensions of serialized-model formats. Protocol 0/1 pickles are plain ASCII
# and ONNX/TF protobufs have no magic number, so the extension is the only tell.
MODEL_EXTENSIONS = frozenset(
    {
        "pkl",
        "p",
        "pickle",
        "dill",
        "pt",
        "pth",
        "bin",
        "ckpt",
        "joblib",
        "sav",
        "npy",
        "npz",
        "h5",
        "hdf5",
        "keras",
        "safetensors",
        "gguf",
        "pb",
        "onnx",
        "msgpack",
        "model",
        "mar",
        "nemo",
        "pdparams",
    }
)

# Binary formats that are never models and never worth a content scan. They are
# checked after the magic numbers, so a "picture.png" that is really a zip file
# still goes to the model scanner.
KNOWN_BINARY_EXTENSIONS = frozenset(
    {
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "ico",
        "icns",
        "webp",
        "tif",
        "tiff",
        "psd",
        "pdf",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "mp3",
        "mp4",
        "m4a",
        "wav",
        "flac",
        "ogg",
        "avi",
        "mov",
        "mkv",
        "webm",
        "so",
        "dll",
        "dylib",
        "exe",
        "o",
        "a",
        "lib",
        "class",
        "pyc",
        "pyo",
        "pyd",
        "wasm",
        "sqlite",
        "db",
    }
)

_YAML_EXTENSIONS = frozenset({"yml", "yaml"})

# Base names (lower-cased) whose kind needs no further look.
_EXACT_NAMES: dict[str, FileKind] = {
    "pyproject.toml": FileKind.PYPROJECT,
    "pipfile": FileKind.PIPFILE,
    "pipfile.lock": FileKind.LOCKFILE,
    "poetry.lock": FileKind.LOCKFILE,
    "uv.lock": FileKind.LOCKFILE,
    "pdm.lock": FileKind.LOCKFILE,
    "pylock.toml": FileKind.LOCKFILE,
    # Other ecosystems' lock files, audited by the deps scanner. go.mod is a manifest, but since Go
    # 1.17 it lists the exact version of every module the build uses, so it is read like a lock.
    "go.mod": FileKind.LOCKFILE,
    "go.sum": FileKind.LOCKFILE,
    "package-lock.json": FileKind.LOCKFILE,
    "npm-shrinkwrap.json": FileKind.LOCKFILE,
    "yarn.lock": FileKind.LOCKFILE,
    "pnpm-lock.yaml": FileKind.LOCKFILE,
    "cargo.lock": FileKind.LOCKFILE,
    "setup.cfg": FileKind.SETUP_CFG,
    "environment.yml": FileKind.CONDA_ENV,
    "environment.yaml": FileKind.CONDA_ENV,
    "conda.yml": FileKind.CONDA_ENV,
    "conda.yaml": FileKind.CONDA_ENV,
    "action.yml": FileKind.ACTION,
    "action.yaml": FileKind.ACTION,
    "nginx.conf": FileKind.NGINX,
    "containerfile": FileKind.DOCKERFILE,
    "dockerfile": FileKind.DOCKERFILE,
}

# `Dockerfile.<suffix>` is a Dockerfile variant (Dockerfile.gpu, Dockerfile.dev)
# unless the suffix says it is documentation, a script or an editor leftover.
_NOT_DOCKERFILE_SUFFIXES = frozenset(
    {
        "md",
        "rst",
        "adoc",
        "txt",
        "html",
        "py",
        "sh",
        "bash",
        "ps1",
        "bat",
        "json",
        "yml",
        "yaml",
        "toml",
        "lock",
        "patch",
        "diff",
        "orig",
        "rej",
        "swp",
    }
)

# A Go/Helm template action where YAML expects a value or a line: `{{- if`,
# `{{ .Values.x }}`, `{{ include ...`, `{{ $var`. Argo's `{{inputs.parameters.lr}}`
# or a Prometheus `"... {{ $labels.pod }}"` inside a quoted string leave the
# file valid YAML, so they do not make it a template.
_GO_TEMPLATE_ACTION = re.compile(
    rb"(?m)(?:^[ \t]*(?:-[ \t]*)?|:[ \t]+[\"']?)\{\{-?[ \t]*(?:[.$]|/\*|(?:if|else|end|range|with|include|"
    rb"template|define|toYaml|toJson|tpl|required|default|quote|printf|nindent|indent|lookup|fail)\b)"
)
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")
_CFN_TYPE_YAML = re.compile(rb"""(?m)^\s*Type:\s*['"]?AWS::""")
_CFN_TYPE_JSON = re.compile(rb'"Type"\s*:\s*"AWS::')

# Bytes that make text look binary when they dominate the head: C0 controls
# other than the usual whitespace, backspace and ESC (ANSI colour in logs), plus DEL.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27)) + b"\x7f"
_TEXT_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_BINARY_CONTROL_RATIO = 0.3


def is_binary(head: bytes) -> bool:
    """True when the head holds a NUL byte or is mostly control bytes.

    Invalid UTF-8 is not binary: high bytes count as text, and scanners decode
    with replacement characters.
    """
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = len(head.translate(None, _TEXT_BYTES))
    return controls > len(head) * _BINARY_CONTROL_RATIO


def model_magic(head: bytes) -> str | None:
    """Name of the serialization or archive format the head starts with, if any."""
    if len(head) < 2:
        return None
    first = head[0]
    if first == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if first == 0x50 and head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if first == 0x93 and head.startswith(b"\x93NUMPY"):
        return "numpy"
    if first == 0x1F and head[1] == 0x8B:
        return "gzip"
    if head.startswith(b"GGUF") and head[4:8] in (b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00"):
        return "gguf"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    # A real bzip2 stream follows "BZh<level>" with a block or end-of-stream
    # magic; requiring it keeps text that happens to start with "BZh1" out.
    if head.startswith(b"BZh") and len(head) >= 10 and 0x31 <= head[3] <= 0x39 and head[4:10] in _BZIP2_BLOCKS:
        return "bzip2"
    if _is_hdf5(head):
        return "hdf5"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if _is_safetensors(head):
        return "safetensors"
    if first in _COMPRESSED_FIRST_BYTES:
        # joblib's compressed dumps (`.pkl.z`, `compress=True`): short magic numbers,
        # confirmed by inflating a few bytes. Imported here: few files get this far.
        from aisec_ci.scanners.models.sniff import compressed_model

        return compressed_model(head)
    return None


_COMPRESSED_FIRST_BYTES = frozenset(b"\x04\x5a\x5d\x78")
"""First bytes of lz4 frames, joblib "ZF" files, lzma-alone and zlib streams."""

ZIP_TAIL_SIZE = 22 + 65535
"""The end-of-central-directory record and the longest comment it may carry."""


def zip_at_end(tail: bytes) -> bool:
    """Whether `tail` (a file's last bytes) ends with a zip's end-of-central-directory record.

    Zip readers find an archive from its end, so bytes prepended before the
    first member (a self-extractor stub, a polyglot header) do not hide it.
    The record must end exactly at the comment it declares and point at a
    central directory that fits before it, so chance bytes in a binary do not count.
    """
    pos = tail.rfind(b"PK\x05\x06")
    while pos != -1:
        if pos + 22 <= len(tail):
            entries = int.from_bytes(tail[pos + 10 : pos + 12], "little")
            cd_size = int.from_bytes(tail[pos + 12 : pos + 16], "little")
            cd_offset = int.from_bytes(tail[pos + 16 : pos + 20], "little")
            comment = int.from_bytes(tail[pos + 20 : pos + 22], "little")
            start = pos - cd_size
            if (
                pos + 22 + comment == len(tail)
                and entries > 0
                and cd_size >= 46 * entries
                and (start < 0 or tail[start : start + 4] == b"PK\x01\x02")
                and cd_offset != 0xFFFFFFFF
            ):
                return True
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return False


def _is_hdf5(head: bytes) -> bool:
    # HDF5 allows a user block before the superblock, at 0, 512, 1024, 2048 ...
    signature = b"\x89HDF\r\n\x1a\n"
    offset = 0
    while offset + 8 <= len(head):
        if head[offset : offset + 8] == signature:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def _is_safetensors(head: bytes) -> bool:
    # 8-byte little-endian header length, then the JSON header itself. The
    # length bound rejects text whose bytes 8-9 happen to be `{"`.
    if len(head) < 10 or head[8:10] != b'{"':
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 2 <= header_len <= 100 * 1024 * 1024


# Protocol 0/1 pickles are printable text with no magic number; a `model.p` or a
# `config.json` that holds one starts with GLOBAL `c`, MARK `(` or PROTO 0x80.
_TEXT_PICKLE_STARTS = (b"c", b"(", b"\x80")


def _is_text_pickle(head: bytes) -> bool:
    # Only heads starting with one of three bytes get here, and the models
    # scanner's own pickle reader (an emulator, nothing is unpickled) replays at
    # most the head's opcodes. Imported here: discovery seldom needs it.
    from aisec_ci.scanners.models.sniff import is_pickle_prefix

    return is_pickle_prefix(head, whole=len(head) < HEAD_SIZE)


def _extension(lower_name: str) -> str:
    dot = lower_name.rfind(".")
    return lower_name[dot + 1 :] if dot > 0 else ""


def _dockerfile_name(lower: str) -> bool:
    if lower.endswith(".dockerfile"):
        return True
    for stem in ("dockerfile", "containerfile"):
        if lower.startswith(stem) and len(lower) > len(stem):
            sep = lower[len(stem)]
            if sep in "_-":
                return True
            if sep == ".":
                return _extension(lower) not in _NOT_DOCKERFILE_SUFFIXES
    return False


def kind_by_name(relpath: str) -> FileKind | None:
    """The kind a path's name alone decides, or None when content must decide.

    `relpath` uses `/` separators. Generic `.yml`/`.json`/`.conf` names return
    None: Kubernetes, CloudFormation, IAM and nginx files are told apart by content.
    """
    slash = relpath.rfind("/")
    name = relpath[slash + 1 :]
    parent = relpath[:slash] if slash >= 0 else ""
    lower = name.lower()
    ext = _extension(lower)

    if ext in _YAML_EXTENSIONS and (parent == ".github/workflows" or parent.endswith("/.github/workflows")):
        return FileKind.WORKFLOW
    # BuildKit reads `<dockerfile>.dockerignore` beside its Dockerfile.
    if lower.endswith(".dockerignore"):
        return FileKind.DOCKERIGNORE
    exact = _EXACT_NAMES.get(lower)
    if exact is not None:
        return exact
    if _dockerfile_name(lower):
        return FileKind.DOCKERFILE
    if ext in MODEL_EXTENSIONS:
        return FileKind.MODEL

    parent_name = parent[parent.rfind("/") + 1 :].lower()
    if ext == "txt":
        if "requirements" in lower or lower.startswith("constraints") or lower.endswith("-constraints.txt"):
            return FileKind.REQUIREMENTS
        if parent_name == "requirements":
            return FileKind.REQUIREMENTS
        return None
    if ext == "in":
        if "requirements" in lower or parent_name == "requirements":
            return FileKind.REQUIREMENTS
        return None
    if ext == "lock" and "requirements" in lower:
        # rye's requirements.lock / requirements-dev.lock (and `uv pip compile -o requirements.lock`)
        # are pip requirements files.
        return FileKind.REQUIREMENTS
    if ext in ("py", "pyi", "pyw"):
        return FileKind.PYTHON
    if ext == "ipynb":
        return FileKind.NOTEBOOK
    if ext == "tf" or lower.endswith(".tf.json"):
        return FileKind.TERRAFORM
    if ext == "toml" and lower.startswith("pylock."):
        return FileKind.LOCKFILE
    if ext in _YAML_EXTENSIONS:
        if lower.startswith(("compose", "docker-compose")) or "docker-compose" in lower:
            return FileKind.COMPOSE
        if lower.startswith(("environment-", "environment_")):
            return FileKind.CONDA_ENV
        return None
    if lower.endswith(".nginx") or (lower.startswith("nginx") and ".conf" in lower):
        return FileKind.NGINX
    if ext == "conf" and ("/nginx/" in f"/{parent.lower()}/"):
        return FileKind.NGINX
    return None


def _top_level_key(head: bytes, key: bytes) -> bool:
    # A key at column 0 of some line: cheap stand-in for "a top-level mapping
    # key of some YAML document" without parsing.
    return head.startswith(key) or (b"\n" + key) in head


def _sniff_yaml(relpath: str, head: bytes) -> FileKind:
    is_k8s = _top_level_key(head, b"apiVersion:") and _top_level_key(head, b"kind:")
    if b"{{" in head and (is_k8s or "/templates/" in f"/{relpath}") and _GO_TEMPLATE_ACTION.search(head):
        return FileKind.HELM_TEMPLATE
    if b"AWSTemplateFormatVersion" in head or (b"AWS::" in head and _CFN_TYPE_YAML.search(head)):
        return FileKind.CLOUDFORMATION
    if is_k8s:
        return FileKind.KUBERNETES
    if _top_level_key(head, b"dependencies:") and (_top_level_key(head, b"channels:") or b"- pip:" in head):
        return FileKind.CONDA_ENV
    return FileKind.YAML


def _sniff_json(head: bytes) -> FileKind:
    if b"AWSTemplateFormatVersion" in head or (b"AWS::" in head and _CFN_TYPE_JSON.search(head)):
        return FileKind.CLOUDFORMATION
    if b'"Statement"' in head and (b'"Effect"' in head or b'"Version"' in head):
        return FileKind.IAM_POLICY
    if b'"apiVersion"' in head and b'"kind"' in head:
        return FileKind.KUBERNETES
    return FileKind.JSON


def _sniff_nginx(head: bytes) -> bool:
    has_block = b"server {" in head or b"server{" in head or b"location " in head
    return has_block and b"listen" in head


def classify(relpath: str, head: bytes) -> FileKind:
    """Kind of the file at `relpath` (`/`-separated) whose first bytes are `head`.

    Model magic numbers win over everything, so a zip or pickle is a model
    whatever its name. Then model extensions, then known binary formats, then
    binary content, then text that replays as a pickle, then the name rules, then a content sniff for generic
    YAML, JSON, CloudFormation templates, `.conf` files and scripts.
    """
    if model_magic(head) is not None:
        return FileKind.MODEL
    by_name = kind_by_name(relpath)
    if by_name is FileKind.MODEL:
        return FileKind.MODEL
    lower = relpath[relpath.rfind("/") + 1 :].lower()
    ext = _extension(lower)
    if ext in KNOWN_BINARY_EXTENSIONS or is_binary(head):
        return FileKind.BINARY
    if head[:1] in _TEXT_PICKLE_STARTS and _is_text_pickle(head):
        return FileKind.MODEL
    if by_name is not None:
        return by_name
    if ext in _YAML_EXTENSIONS:
        return _sniff_yaml(relpath, head)
    if ext == "json":
        return _sniff_json(head)
    if (ext == "conf" or lower.endswith(".conf.template")) and _sniff_nginx(head):
        return FileKind.NGINX
    if ext == "template":
        # `.template` is CloudFormation's own extension, in JSON or YAML; any other
        # template stays text, as it is not valid YAML/JSON until rendered.
        kind = _sniff_json(head) if head.lstrip().startswith(b"{") else _sniff_yaml(relpath, head)
        return kind if kind is FileKind.CLOUDFORMATION else FileKind.TEXT
    if not ext and head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0][:128]:
        return FileKind.PYTHON
    return FileKind.TEXT
