"""Classification of file kinds by name and by content."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from aisec_ci.workspace.classify import HEAD_SIZE, classify, is_binary, kind_by_name, model_magic, zip_at_end
from aisec_ci.workspace.kinds import FileKind

FIXTURE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "workspace" / "repo"
REALWORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "realworld"

# Every file of the fixture repository and the kind it must get. The test below
# fails on a fixture file missing from this table, so the table stays complete.
EXPECTED_FIXTURE_KINDS: dict[str, FileKind] = {
    ".dockerignore": FileKind.DOCKERIGNORE,
    ".github/actions/setup/action.yml": FileKind.ACTION,
    ".github/dependabot.yml": FileKind.YAML,
    ".github/workflows/ci.yml": FileKind.WORKFLOW,
    "Dockerfile.gpu": FileKind.DOCKERFILE,
    "Pipfile": FileKind.PIPFILE,
    "Pipfile.lock": FileKind.LOCKFILE,
    "charts/model-server/Chart.yaml": FileKind.YAML,
    "charts/model-server/templates/_helpers.tpl": FileKind.TEXT,
    "charts/model-server/templates/deployment.yaml": FileKind.HELM_TEMPLATE,
    "charts/model-server/templates/hpa.yaml": FileKind.HELM_TEMPLATE,
    "charts/model-server/values.yaml": FileKind.YAML,
    "cloudformation/inference-api.yaml": FileKind.CLOUDFORMATION,
    "cloudformation/model-bucket.yaml": FileKind.CLOUDFORMATION,
    "cloudformation/pipeline.template": FileKind.CLOUDFORMATION,
    "cloudformation/training-role.json": FileKind.CLOUDFORMATION,
    "config/settings.json": FileKind.JSON,
    "config/train.yaml": FileKind.YAML,
    "constraints.txt": FileKind.REQUIREMENTS,
    "deploy/nginx/inference.conf": FileKind.NGINX,
    "deploy/proxy/site.conf": FileKind.NGINX,
    "deploy/supervisord.conf": FileKind.TEXT,
    "dev-requirements.txt": FileKind.REQUIREMENTS,
    "docker-compose.override.yml": FileKind.COMPOSE,
    "docker/Containerfile": FileKind.DOCKERFILE,
    "docker/Dockerfile.md": FileKind.TEXT,
    "docker/Dockerfile_cuda": FileKind.DOCKERFILE,
    "docker/compose.yaml": FileKind.COMPOSE,
    "docker/serve.Dockerfile": FileKind.DOCKERFILE,
    "docker/serve.Dockerfile.dockerignore": FileKind.DOCKERIGNORE,
    "docs/notes.txt": FileKind.TEXT,
    "environment.yml": FileKind.CONDA_ENV,
    "envs/gpu.yaml": FileKind.CONDA_ENV,
    "iam/sagemaker-execution.json": FileKind.IAM_POLICY,
    "k8s/deployment.json": FileKind.KUBERNETES,
    "k8s/inference.yaml": FileKind.KUBERNETES,
    "k8s/kustomization.yaml": FileKind.KUBERNETES,
    "mlflow/conda.yaml": FileKind.CONDA_ENV,
    "nginx/nginx.conf": FileKind.NGINX,
    "notebooks/train.ipynb": FileKind.NOTEBOOK,
    "poetry.lock": FileKind.LOCKFILE,
    "pylock.gpu.toml": FileKind.LOCKFILE,
    "pylock.toml": FileKind.LOCKFILE,
    "pyproject.toml": FileKind.PYPROJECT,
    "requirements-gpu.txt": FileKind.REQUIREMENTS,
    "requirements.in": FileKind.REQUIREMENTS,
    "requirements.lock": FileKind.REQUIREMENTS,  # rye
    "requirements-dev.lock": FileKind.REQUIREMENTS,
    "requirements.txt": FileKind.REQUIREMENTS,
    "requirements/dev.txt": FileKind.REQUIREMENTS,
    "scripts/entrypoint": FileKind.TEXT,
    "scripts/serve": FileKind.PYTHON,
    "setup.cfg": FileKind.SETUP_CFG,
    "src/app.py": FileKind.PYTHON,
    "stubs/model.pyi": FileKind.PYTHON,
    "terraform/main.tf": FileKind.TERRAFORM,
    "terraform/override.tf.json": FileKind.TERRAFORM,
}


def _fixture_files() -> list[str]:
    return sorted(p.relative_to(FIXTURE_REPO).as_posix() for p in FIXTURE_REPO.rglob("*") if p.is_file())


def test_fixture_table_covers_every_fixture_file() -> None:
    assert _fixture_files() == sorted(EXPECTED_FIXTURE_KINDS)


@pytest.mark.parametrize("relpath", sorted(EXPECTED_FIXTURE_KINDS))
def test_fixture_file_kind(relpath: str) -> None:
    head = (FIXTURE_REPO / relpath).read_bytes()[:HEAD_SIZE]
    assert classify(relpath, head) is EXPECTED_FIXTURE_KINDS[relpath]


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("Dockerfile", FileKind.DOCKERFILE),
        ("services/api/Dockerfile", FileKind.DOCKERFILE),
        ("DOCKERFILE", FileKind.DOCKERFILE),
        ("Dockerfile.gpu", FileKind.DOCKERFILE),
        ("Dockerfile-dev", FileKind.DOCKERFILE),
        ("Dockerfile_cuda", FileKind.DOCKERFILE),
        ("serve.Dockerfile", FileKind.DOCKERFILE),
        ("train.dockerfile", FileKind.DOCKERFILE),
        ("Containerfile", FileKind.DOCKERFILE),
        ("Containerfile.rhel", FileKind.DOCKERFILE),
        ("Dockerfile.dockerignore", FileKind.DOCKERIGNORE),
        (".dockerignore", FileKind.DOCKERIGNORE),
        ("docker/.dockerignore", FileKind.DOCKERIGNORE),
        ("docker-compose.yml", FileKind.COMPOSE),
        ("docker-compose.override.yml", FileKind.COMPOSE),
        ("docker-compose.prod.yaml", FileKind.COMPOSE),
        ("compose.yaml", FileKind.COMPOSE),
        ("compose.dev.yml", FileKind.COMPOSE),
        (".github/workflows/ci.yml", FileKind.WORKFLOW),
        (".github/workflows/release.yaml", FileKind.WORKFLOW),
        (".github/workflows/action.yml", FileKind.WORKFLOW),
        ("action.yml", FileKind.ACTION),
        ("actions/setup-model/action.yaml", FileKind.ACTION),
        ("requirements.txt", FileKind.REQUIREMENTS),
        ("requirements-dev.txt", FileKind.REQUIREMENTS),
        ("requirements_test.txt", FileKind.REQUIREMENTS),
        ("test-requirements.txt", FileKind.REQUIREMENTS),
        ("Requirements.txt", FileKind.REQUIREMENTS),
        ("requirements/base.txt", FileKind.REQUIREMENTS),
        ("requirements/prod.in", FileKind.REQUIREMENTS),
        ("constraints-cuda.txt", FileKind.REQUIREMENTS),
        ("requirements-dev.in", FileKind.REQUIREMENTS),
        ("poetry.lock", FileKind.LOCKFILE),
        ("uv.lock", FileKind.LOCKFILE),
        ("Pipfile.lock", FileKind.LOCKFILE),
        ("pdm.lock", FileKind.LOCKFILE),
        ("pylock.toml", FileKind.LOCKFILE),
        ("pylock.cpu.toml", FileKind.LOCKFILE),
        # other ecosystems' lock files, read by the deps scanner (not generic JSON/YAML/text)
        ("go.mod", FileKind.LOCKFILE),
        ("services/gateway/go.sum", FileKind.LOCKFILE),
        ("frontend/package-lock.json", FileKind.LOCKFILE),
        ("npm-shrinkwrap.json", FileKind.LOCKFILE),
        ("dashboard/yarn.lock", FileKind.LOCKFILE),
        ("pnpm-lock.yaml", FileKind.LOCKFILE),
        ("rust/Cargo.lock", FileKind.LOCKFILE),
        ("pyproject.toml", FileKind.PYPROJECT),
        ("Pipfile", FileKind.PIPFILE),
        ("setup.cfg", FileKind.SETUP_CFG),
        ("environment.yaml", FileKind.CONDA_ENV),
        ("environment-cuda.yml", FileKind.CONDA_ENV),
        ("conda.yml", FileKind.CONDA_ENV),
        ("notebooks/eda.ipynb", FileKind.NOTEBOOK),
        ("infra/main.tf", FileKind.TERRAFORM),
        ("infra/main.tf.json", FileKind.TERRAFORM),
        ("nginx.conf", FileKind.NGINX),
        ("nginx-prod.conf", FileKind.NGINX),
        ("nginx.conf.template", FileKind.NGINX),
        ("sites/model.nginx", FileKind.NGINX),
        ("deploy/nginx/default.conf", FileKind.NGINX),
        ("app/main.py", FileKind.PYTHON),
        ("stubs/x.pyi", FileKind.PYTHON),
        ("model.pt", FileKind.MODEL),
        ("weights.pkl", FileKind.MODEL),
        ("ckpt/last.ckpt", FileKind.MODEL),
        ("model.onnx", FileKind.MODEL),
        ("model.safetensors", FileKind.MODEL),
        ("llama.gguf", FileKind.MODEL),
        ("tokenizer.model", FileKind.MODEL),
        ("clf.joblib", FileKind.MODEL),
    ],
)
def test_kind_by_name(relpath: str, expected: FileKind) -> None:
    assert kind_by_name(relpath) is expected


@pytest.mark.parametrize(
    "relpath",
    [
        "config.yaml",
        "data.json",
        "README.md",
        "notes.txt",
        "site.conf",
        "Dockerfile.md",
        "docker/Dockerfile.sh",
        "frontend/package.json",
        "go.work",
        "Cargo.toml",
    ],
)
def test_names_that_need_content_or_are_plain(relpath: str) -> None:
    assert kind_by_name(relpath) is None


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        data = b"weights"
        info = tarfile.TarInfo("model/weights.bin")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _safetensors_bytes() -> bytes:
    header = b'{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    return struct.pack("<Q", len(header)) + header + b"\x00" * 8


def _gguf_bytes() -> bytes:
    return b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", 0)


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (pickle.dumps({"a": 1}, protocol=2), "pickle"),
        (pickle.dumps({"a": 1}, protocol=4), "pickle"),
        (pickle.dumps({"a": 1}, protocol=5), "pickle"),
        (_zip_bytes(), "zip"),
        (b"PK\x05\x06" + b"\x00" * 18, "zip"),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "numpy"),
        (b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00", "hdf5"),
        (b"\x00" * 512 + b"\x89HDF\r\n\x1a\n\x00", "hdf5"),
        (_gguf_bytes(), "gguf"),
        (_safetensors_bytes(), "safetensors"),
        (_tar_bytes(), "tar"),
        (gzip.compress(b"weights" * 10), "gzip"),
        (bz2.compress(b"weights" * 10), "bzip2"),
        (lzma.compress(b"weights" * 10), "xz"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        # joblib's compressed dumps: raw zlib (compress=True), lzma alone, old "ZF" files, lz4 frames.
        (zlib.compress(pickle.dumps({"a": 1}, protocol=4), 3), "zlib"),
        (zlib.compress(pickle.dumps({"a": 1}, protocol=0)), "zlib"),
        (lzma.compress(pickle.dumps({"a": 1}, protocol=4), format=lzma.FORMAT_ALONE), "lzma"),
        (b"ZF" + b"0x10".ljust(19) + zlib.compress(pickle.dumps({"a": 1}, protocol=2)), "joblib-zfile"),
        (b"\x04\x22\x4d\x18\x64\x40\xa7\x05\x00\x00\x80hello", "lz4"),
    ],
    # Compressed heads embed timestamps: name the cases so xdist workers agree on ids.
    ids=lambda v: v if isinstance(v, str) else "head",
)
def test_model_magic(head: bytes, fmt: str) -> None:
    assert model_magic(head[:HEAD_SIZE]) == fmt
    # Content wins over the name: an archive called "data.zip" or "weights" is a model.
    assert classify("artifacts/weights", head[:HEAD_SIZE]) is FileKind.MODEL


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"GGUF models are supported since v0.2\n",
        b"BZh1 is not a stream\n",
        b'        {"a": 1}\n',  # bytes 8-9 are `{"` but the length is absurd
        b"\x80abc",  # 0x80 without a valid pickle protocol
        "Übersicht der Modelle\n".encode("latin-1"),
        b"x^2 + y^2 = r^2\n",  # a valid zlib header in text
        zlib.compress(b"plain log text, not a model\n"),  # zlib, but not of a model
        b"ZF0x10 but not joblib\n",
        b"\x04\x22\x4d\x18\x00\x00",  # lz4 magic with a bad frame descriptor
    ],
)
def test_not_model_magic(head: bytes) -> None:
    assert model_magic(head) is None


def test_zip_found_from_its_end() -> None:
    archive = _zip_bytes()
    assert zip_at_end(b"MZ\x90\x00" + b"\x00" * 300 + archive)  # a stub prepended
    assert zip_at_end(archive)
    # An end record that declares no central directory, or does not end the file, is chance bytes.
    assert not zip_at_end(b"\x00" * 100 + b"PK\x05\x06" + b"\x00" * 18)
    assert not zip_at_end(archive + b"\x00")
    assert not zip_at_end(b"\x01\x02" * 500)


def test_model_by_magic_whatever_the_name() -> None:
    zip_head = _zip_bytes()
    assert classify("model.pt", zip_head) is FileKind.MODEL
    assert classify("dist/pkg-1.0-py3-none-any.whl", zip_head) is FileKind.MODEL
    assert classify("export/report.docx", zip_head) is FileKind.MODEL
    assert classify("data/train.tar.gz", gzip.compress(b"x")) is FileKind.MODEL
    # A zip named like a picture is still looked into.
    assert classify("assets/logo.png", zip_head) is FileKind.MODEL
    # A requirements file that is really a pickle is a pickle.
    assert classify("requirements.txt", pickle.dumps([1], protocol=3)) is FileKind.MODEL


def test_model_by_extension_without_magic() -> None:
    protocol0 = pickle.dumps({"weights": [0.5, 0.25]}, protocol=0)
    assert not is_binary(protocol0)
    assert model_magic(protocol0) is None
    assert classify("weights.pkl", protocol0) is FileKind.MODEL
    assert classify("model.pickle", pickle.dumps([1, 2], protocol=1)) is FileKind.MODEL
    assert classify("model.onnx", b"\x08\x07\x12\x07pytorch\x1a\x032.1") is FileKind.MODEL
    assert classify("empty.pt", b"") is FileKind.MODEL


def test_known_binary_formats_are_binary() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
    assert classify("docs/architecture.png", png) is FileKind.BINARY
    assert classify("docs/paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") is FileKind.BINARY
    assert classify("static/font.woff2", b"wOF2\x00\x01\x00\x00") is FileKind.BINARY
    assert classify("a.out", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8) is FileKind.BINARY


def test_binary_detection() -> None:
    assert is_binary(b"abc\x00def")
    assert is_binary(bytes(range(1, 8)) * 100)
    assert not is_binary(b"")
    assert not is_binary(b"plain text\twith tabs\r\nand CRLF\n")
    assert not is_binary(b"\x1b[31mred\x1b[0m log line\n")
    # Invalid UTF-8 (Latin-1 bytes) is still text: scanners decode with replacement.
    assert not is_binary("café = naïve\n".encode("latin-1"))
    assert classify("notes.txt", "caf\xe9\n".encode("latin-1")) is FileKind.TEXT
    # A text-named file with binary content is binary.
    assert classify("requirements.txt", b"\x00\x01\x02torch") is FileKind.BINARY
    # UTF-16 (as PowerShell writes `pip freeze` output) holds NUL bytes.
    assert classify("requirements.txt", "torch==2.0\n".encode("utf-16")) is FileKind.BINARY


def test_yaml_sniffing() -> None:
    k8s = b"# comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    assert classify("deploy/config.yaml", k8s) is FileKind.KUBERNETES
    assert classify("deploy/config.yaml", k8s.replace(b"\n", b"\r\n")) is FileKind.KUBERNETES
    # Keys nested under another key are not top level.
    nested = b"spec:\n  apiVersion: v1\n  kind: Pod\n"
    assert classify("values.yaml", nested) is FileKind.YAML
    assert classify("templates/deploy.yaml", b"kind: {{ .Values.kind }}\nmetadata: {}\n") is FileKind.HELM_TEMPLATE
    assert classify("deploy/templated.yaml", k8s + b"data:\n  v: {{ .Values.v }}\n") is FileKind.HELM_TEMPLATE
    argo = (
        b"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n  - name: train\n"
        b"    container:\n      args: [--lr, '{{inputs.parameters.lr}}']\n"
        b"      command: [python, train.py, --out={{workflow.name}}]\n"
    )
    # Argo parameters leave the manifest valid YAML: it is scanned, not skipped as a template.
    assert classify("pipelines/templates/train.yaml", argo) is FileKind.KUBERNETES
    prometheus = (
        b"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups:\n  - rules:\n"
        b"    - alert: GPUDown\n      annotations:\n        summary: 'GPU node {{ $labels.node }} is down'\n"
    )
    assert classify("monitoring/rules.yaml", prometheus) is FileKind.KUBERNETES
    assert classify("charts/c/templates/svc.yaml", b"{{- if .Values.svc }}\nkind: Service\n{{- end }}\n") is (
        FileKind.HELM_TEMPLATE
    )
    # `{{` outside a templates/ directory and not Kubernetes: just YAML (e.g. a Jinja config).
    assert classify("config/prompts.yaml", b"prompt: 'Hello {{ name }}'\n") is FileKind.YAML
    cfn = b"Resources:\n  Bucket:\n    Type: 'AWS::S3::Bucket'\n"
    assert classify("stack.yml", cfn) is FileKind.CLOUDFORMATION
    conda = b"name: x\ndependencies:\n  - numpy\n  - pip:\n    - torch\n"
    assert classify("env/cpu.yml", conda) is FileKind.CONDA_ENV
    chart = b"apiVersion: v2\nname: c\ndependencies:\n  - name: redis\n"
    assert classify("Chart.yaml", chart) is FileKind.YAML


def test_template_and_conf_sniffing() -> None:
    nginx = b"server {\n    listen       ${NGINX_PORT};\n    location / { proxy_pass http://api; }\n}\n"
    assert classify("nginx/templates/default.conf.template", nginx) is FileKind.NGINX
    assert classify("conf.d/site.conf", nginx) is FileKind.NGINX
    assert classify("stack.template", b'{"AWSTemplateFormatVersion": "2010-09-09"}') is FileKind.CLOUDFORMATION
    assert classify("mail/welcome.template", b"{{ greeting }}, {{ name }}!\n") is FileKind.TEXT
    assert classify("config/app.template", b"key: {{ value }}\n") is FileKind.TEXT


def test_json_sniffing() -> None:
    policy = b'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    assert classify("policy.json", policy) is FileKind.IAM_POLICY
    cfn = b'{"Resources": {"B": {"Type":"AWS::S3::Bucket"}}}'
    assert classify("stack.json", cfn) is FileKind.CLOUDFORMATION
    assert classify("package.json", b'{"name": "ui", "version": "1.0.0"}') is FileKind.JSON


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("dockerfiles", {FileKind.DOCKERFILE}),
        ("workflows", {FileKind.WORKFLOW}),
        ("iam", {FileKind.IAM_POLICY}),
        ("k8s", {FileKind.KUBERNETES, FileKind.HELM_TEMPLATE}),
    ],
)
def test_realworld_files(area: str, expected: set[FileKind]) -> None:
    base = REALWORLD / area
    if not base.is_dir():
        pytest.skip("../shared/data/realworld is not beside the checkout")
    files = [p for p in sorted(base.rglob("*")) if p.is_file()]
    assert files
    kinds = {}
    for path in files:
        rel = path.relative_to(base).as_posix()
        kinds[rel] = classify(rel, path.read_bytes()[:HEAD_SIZE])
    assert set(kinds.values()) <= expected, {k: v for k, v in kinds.items() if v not in expected}
    for rel, kind in kinds.items():
        # Only Go-templated manifests (clusterloader2 `{{.Image}}`) are templates.
        if kind is FileKind.HELM_TEMPLATE:
            assert b"{{" in (base / rel).read_bytes()


# --- protocol 0/1 pickles told by content (issue 17) ------------------------------------------

_TEXT_PICKLE = b"cos\nsystem\n(S'echo hi'\ntR."


@pytest.mark.parametrize("name", ["model.p", "weights.P", "x.pickle", "y.dill", "z.sav"])
def test_pickle_extensions_are_models(name: str) -> None:
    assert kind_by_name(name) is FileKind.MODEL


@pytest.mark.parametrize("name", ["config.json", "notes.txt", "settings.yaml", "README"])
def test_text_pickle_is_a_model_whatever_its_name(name: str) -> None:
    assert classify(name, _TEXT_PICKLE) is FileKind.MODEL
    assert classify(name, pickle.dumps({"lr": 0.1, "layers": [1, 2]}, protocol=0)) is FileKind.MODEL


def test_text_pickle_longer_than_the_head_is_a_model() -> None:
    data = pickle.dumps([f"token{i}" for i in range(5000)], protocol=0)
    assert len(data) > HEAD_SIZE
    assert classify("vocab.json", data[:HEAD_SIZE]) is FileKind.MODEL


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("config.json", b'{"model_type": "bert", "hidden_size": 768}\n', FileKind.JSON),
        ("build.txt", b"cd build\ncmake ..\nmake -j4\n", FileKind.TEXT),
        ("notes.txt", b"cat\ndog\nfish\n", FileKind.TEXT),
        ("todo.md", b"(t.b.d.) write the docs\n", FileKind.TEXT),
        ("script", b"(cd build && make)\n", FileKind.TEXT),
        ("swap.py", b"(a, b) = (b, a)\nprint(a, b)\n", FileKind.PYTHON),
        ("cities.csv", b"city,population\nParis,2100000\nLyon,516000\n", FileKind.TEXT),
        ("app.js", b"const a = 1;\n" * 1000, FileKind.TEXT),
        ("marks.txt", b"(" * HEAD_SIZE, FileKind.TEXT),
    ],
)
def test_text_starting_like_a_pickle_stays_text(name: str, head: bytes, kind: FileKind) -> None:
    assert classify(name, head[:HEAD_SIZE]) is kind
