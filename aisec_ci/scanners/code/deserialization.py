"""Loading models and data through pickle and YAML constructors that run code."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import CallSite, Hit, constant
from aisec_ci.scanners.code.stored_models import STORED_FILE, pickle_family, stored_file_read
from aisec_ci.severity import Severity

_REFS_PICKLE = ("https://docs.python.org/3/library/pickle.html",)

TORCH_LOAD = Rule(
    id="code/torch-load-unsafe",
    name="torch.load without weights_only=True",
    short_description="`torch.load` unpickles the checkpoint, which can run arbitrary code.",
    severity=Severity.HIGH,
    what="Reports `torch.load` calls that set `weights_only=False` (high) or do not set `weights_only=True` "
    "at all (medium: PyTorch before 2.6 then uses the full unpickler). Aliases such as `import torch as T` "
    "and `from torch import load` are resolved.",
    why="A PyTorch checkpoint is a pickle. With the full unpickler, loading a file runs any callable the file "
    "names (`os.system`, `exec`, ...), so a model downloaded from a hub, a shared drive or an artifact store "
    "is code. `weights_only=True` restricts the unpickler to tensors and plain containers; it is a mitigation, "
    "not a guarantee (CVE-2025-32434 bypassed it before 2.6.0, CVE-2026-24747 before 2.10.0), so keep PyTorch "
    "current and prefer safetensors.",
    example='model = torch.load("checkpoint.pt")\nstate = torch.load(path, weights_only=False)',
    example_language="python",
    fix="Pass `weights_only=True` and load a `state_dict` into a model you construct in code, or store weights "
    "as safetensors (`safetensors.torch.load_file`). Never fall back to `weights_only=False` after an "
    "`UnpicklingError`.",
    tags=("CWE-502", "ai", "model-loading"),
    precision="high",
    references=(
        "https://pytorch.org/docs/stable/generated/torch.load.html",
        "https://github.com/pytorch/pytorch/security/advisories/GHSA-53q9-r3pm-6pq6",
    ),
)

PICKLE_LOAD = Rule(
    id="code/pickle-load",
    name="Deserialization with pickle or a pickle-based loader",
    short_description="pickle, joblib, dill, cloudpickle and pandas.read_pickle run code while loading.",
    severity=Severity.HIGH,
    what="Reports `pickle.load`/`loads`/`Unpickler`, `dill`, `cloudpickle`, `joblib.load`, "
    "`pandas.read_pickle`, `jsonpickle.decode` and `shelve.open` calls whose data is not a literal written in "
    "the code itself. Two shapes where a file, not bytes, is loaded are medium in the strict profile: a "
    "module reading back the file it writes with the same library's `dump` (its own storage format), and "
    "a model server's `load`/`load_model` hook reading the model its deployer configured; a file name or "
    "handle traced to a request, an upload or a download stays high.",
    why="Unpickling calls whatever `__reduce__` the data names. Anyone who can replace the file (a model "
    "registry, an S3 bucket, a pull request, a cache) or the bytes (a request body, a message queue) runs "
    "code in the process that loads it. `joblib` and `pandas.read_pickle` are pickle underneath.",
    example='clf = joblib.load("model.joblib")\nstate = pickle.loads(request.data)',
    example_language="python",
    fix="Store models in a format without code: safetensors for tensors, skops (`skops.io.load` with a "
    "reviewed `trusted=` list) for scikit-learn, ONNX, JSON or Parquet for data. If pickle cannot be avoided, "
    "load only files whose hash you pinned, and scan them with `aisec-ci` (`models` scanner).",
    tags=("CWE-502", "ai", "model-loading"),
    precision="high",
    references=_REFS_PICKLE,
)

NUMPY_ALLOW_PICKLE = Rule(
    id="code/numpy-allow-pickle",
    name="numpy.load with allow_pickle=True",
    short_description="`allow_pickle=True` lets an object-dtype .npy/.npz file run code when loaded.",
    severity=Severity.HIGH,
    what="Reports `numpy.load(..., allow_pickle=True)` (high) and `allow_pickle` set from a variable (medium).",
    why="Object arrays in .npy/.npz files are pickles. numpy made `allow_pickle=False` the default in 1.16.3 "
    "after CVE-2019-6446; turning it back on makes any crafted array file code execution.",
    example='embeddings = np.load("vectors.npy", allow_pickle=True)',
    example_language="python",
    fix="Drop `allow_pickle=True` and save numeric arrays only; keep strings and ragged data in JSON, Arrow or "
    "Parquet instead of object arrays.",
    tags=("CWE-502", "ai", "model-loading"),
    precision="very-high",
    references=("https://numpy.org/doc/stable/reference/generated/numpy.load.html",),
)

YAML_LOAD = Rule(
    id="code/yaml-unsafe-load",
    name="yaml.load without a safe loader",
    short_description="PyYAML's full and unsafe loaders construct arbitrary Python objects.",
    severity=Severity.HIGH,
    what="Reports `yaml.load`/`load_all` without `Loader=SafeLoader` (or `CSafeLoader`, `BaseLoader`, or a "
    "subclass of those defined in the file), and every `yaml.unsafe_load`, `full_load` and ruamel "
    "`YAML(typ='unsafe')`. A loader passed in a variable that cannot be resolved is medium.",
    why="`yaml.Loader` and `UnsafeLoader` build any Python object a tag names (`!!python/object/apply:os.system`), "
    "so loading a config, dataset card or experiment file from an untrusted source runs code. `FullLoader` "
    "had the same hole until PyYAML 5.4 (CVE-2020-1747, CVE-2020-14343), and PyYAML before 5.1 used the unsafe "
    "loader when `Loader` was omitted.",
    example='config = yaml.load(open("config.yaml"), Loader=yaml.Loader)',
    example_language="python",
    fix="Use `yaml.safe_load(stream)` (or `Loader=yaml.CSafeLoader` for speed).",
    tags=("CWE-502", "CWE-20"),
    precision="very-high",
    references=("https://pyyaml.org/wiki/PyYAMLDocumentation",),
)

KERAS_UNSAFE = Rule(
    id="code/keras-unsafe-load",
    name="Keras model loaded with safe_mode off",
    short_description="`safe_mode=False` lets a .keras file run the Python in its Lambda layers.",
    severity=Severity.HIGH,
    what="Reports `load_model(..., safe_mode=False)` from `keras`/`tf.keras` and "
    "`keras.config.enable_unsafe_deserialization()`.",
    why="Keras 3 refuses to deserialize Lambda layers (marshalled Python bytecode) unless safe mode is off. "
    "With it off, loading a model file runs whatever code its author put in it (CVE-2024-3660); even with "
    "it on, configs naming arbitrary module functions bypassed it in older releases (CVE-2025-1550), so keep "
    "Keras current as well.",
    example='model = keras.models.load_model("model.keras", safe_mode=False)',
    example_language="python",
    fix="Keep `safe_mode` on; replace Lambda layers with registered custom layers defined in your code, "
    "or load weights only (`model.load_weights`).",
    tags=("CWE-502", "CWE-94", "ai", "model-loading"),
    precision="very-high",
    references=("https://keras.io/api/models/model_saving_apis/model_saving_and_loading/",),
)

RULES = (TORCH_LOAD, PICKLE_LOAD, NUMPY_ALLOW_PICKLE, YAML_LOAD, KERAS_UNSAFE)

_PICKLE_MODULES = ("pickle", "cPickle", "_pickle", "dill", "cloudpickle", "pickle5")
_PICKLE_FUNCS = frozenset({"load", "loads", "Unpickler"})
_PICKLE_OTHER = frozenset(
    {
        "joblib.load",
        "sklearn.externals.joblib.load",
        "pandas.read_pickle",
        "pandas.io.pickle.read_pickle",
        "jsonpickle.decode",
        "jsonpickle.unpickler.decode",
        "shelve.open",
    }
)
_SAFE_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
_UNSAFE_YAML_FUNCS = frozenset({"unsafe_load", "unsafe_load_all", "full_load", "full_load_all"})


def check_call(site: CallSite) -> Iterator[Hit]:
    name = site.name
    if name in ("torch.load", "torch.serialization.load"):
        yield from _torch_load(site)
    elif _is_pickle_call(name):
        yield from _pickle(site)
    elif name == "numpy.load":
        yield from _numpy(site)
    elif site.has_root("yaml"):
        yield from _yaml(site)
    elif site.last == "enable_unsafe_deserialization" and site.has_root("keras", "tensorflow", "tf_keras"):
        yield Hit(KERAS_UNSAFE, "`enable_unsafe_deserialization()` turns off Keras safe mode for every later load")
    elif site.last == "load_model" and site.has_root("keras", "tensorflow", "tf_keras"):
        if site.is_false(site.keyword("safe_mode")):
            yield Hit(
                KERAS_UNSAFE,
                "`load_model(..., safe_mode=False)` runs the Python code stored in the model's Lambda layers",
            )
    elif name in ("ruamel.yaml.YAML", "ruamel.yaml.main.YAML"):
        typ = site.argument(0, "typ")
        if constant(typ, None) == "unsafe":
            yield Hit(YAML_LOAD, "ruamel `YAML(typ='unsafe')` constructs arbitrary Python objects; use typ='safe'")


def _is_pickle_call(name: str) -> bool:
    if name in _PICKLE_OTHER:
        return True
    module, _, func = name.rpartition(".")
    return module in _PICKLE_MODULES and func in _PICKLE_FUNCS


def _torch_load(site: CallSite) -> Iterator[Hit]:
    weights_only = site.keyword("weights_only")
    if site.is_true(weights_only):
        return
    if site.is_false(weights_only):
        fallback = any(_is_fallback_catch(name) for name in site.handlers)
        if fallback:
            message = (
                "`torch.load(..., weights_only=False)` as the fallback after a failed safe load: any file the "
                "restricted unpickler rejects, which is what a malicious checkpoint is, gets the full unpickler "
                "and runs its code"
            )
        else:
            message = (
                "`torch.load(..., weights_only=False)` unpickles the checkpoint with the full unpickler: loading "
                "a crafted file runs code; load a state_dict with weights_only=True or use safetensors"
            )
        yield Hit(TORCH_LOAD, message, properties={"weights_only": False, "unsafe_fallback": fallback})
    elif weights_only is not None:
        yield Hit(
            TORCH_LOAD,
            "`torch.load` takes `weights_only` from a variable; when it is False a crafted checkpoint runs code",
            severity=Severity.MEDIUM,
            properties={"weights_only": "dynamic"},
        )
    elif not site.has_star_kwargs():
        yield Hit(
            TORCH_LOAD,
            "`torch.load` without `weights_only=True`: before PyTorch 2.6 this unpickles the checkpoint with the "
            "full unpickler, so a crafted file runs code; pass weights_only=True",
            severity=Severity.MEDIUM,
            properties={"weights_only": None},
        )


def _is_round_trip(site: CallSite, data: ast.expr | None) -> bool:
    candidates: list[ast.expr] = [data] if data is not None else []
    if isinstance(data, ast.Name):
        candidates = site.symbols.values.get(data.id, [])
    return bool(candidates) and all(
        isinstance(c, ast.Call) and (site.symbols.qualify(c.func) or "").endswith(".dumps") for c in candidates
    )


def _is_fallback_catch(name: str) -> bool:
    short = name.rsplit(".", 1)[-1]
    return short in ("UnpicklingError", "Exception", "BaseException", "RuntimeError", "PicklingError")


def _pickle(site: CallSite) -> Iterator[Hit]:
    data = site.argument(0, "data") or site.argument(0, "file") or site.argument(0, "filepath_or_buffer")
    if site.last == "loads" and data is not None and site.symbols.is_literal(data):
        # Bytes written in the code itself are the author's own, not an attacker's.
        return
    if _is_round_trip(site, data):
        # `pickle.loads(pickle.dumps(obj))`: a deep copy of an object the process already holds.
        return
    what = {
        "joblib.load": "joblib.load",
        "sklearn.externals.joblib.load": "joblib.load",
        "pandas.read_pickle": "pandas.read_pickle",
        "pandas.io.pickle.read_pickle": "pandas.read_pickle",
    }.get(site.name, site.name)
    properties: dict[str, object] = {"loader": what}
    if stored_file_read(site, data):
        # Recorded for the file-level pass (stored_models.py), which knows the module's dumps
        # and the enclosing function; the property does not reach reports.
        properties[STORED_FILE] = pickle_family(site.name)
    yield Hit(
        PICKLE_LOAD,
        f"`{what}` deserializes with pickle: whoever controls this data runs code in this process; "
        "use a format without code (safetensors, skops, ONNX, JSON)",
        properties=properties,
    )


def _numpy(site: CallSite) -> Iterator[Hit]:
    allow = site.keyword("allow_pickle")
    if allow is None and len(site.node.args) >= 3:
        allow = site.node.args[2]
    if site.is_true(allow):
        yield Hit(
            NUMPY_ALLOW_PICKLE,
            "`numpy.load(..., allow_pickle=True)`: an object-dtype array in the file is a pickle and runs code "
            "when loaded",
        )
    elif allow is not None and site.symbols.value_of(allow) is None:
        yield Hit(
            NUMPY_ALLOW_PICKLE,
            "`numpy.load` takes `allow_pickle` from a variable; when it is true a crafted .npy/.npz runs code",
            severity=Severity.MEDIUM,
        )


def _yaml(site: CallSite) -> Iterator[Hit]:
    func = site.last
    if func in _UNSAFE_YAML_FUNCS:
        yield Hit(
            YAML_LOAD,
            f"`yaml.{func}` builds arbitrary Python objects from tags in the document; use yaml.safe_load",
            properties={"loader": func},
        )
        return
    if site.name not in ("yaml.load", "yaml.load_all"):
        return
    loader = site.argument(1, "Loader")
    if loader is None:
        if site.has_star_kwargs():
            return
        yield Hit(
            YAML_LOAD,
            f"`yaml.{func}` without a Loader: PyYAML < 5.1 uses the unsafe loader and 5.1-5.3 the exploitable "
            "FullLoader; use yaml.safe_load",
            properties={"loader": None},
        )
        return
    qualified = site.symbols.qualify(loader)
    if qualified is None:
        yield Hit(YAML_LOAD, f"`yaml.{func}` with a computed Loader; use yaml.safe_load", severity=Severity.MEDIUM)
        return
    lineage = site.symbols.lineage(qualified)
    if any(q.rsplit(".", 1)[-1] in _SAFE_LOADERS for q in lineage):
        return
    short = qualified.rsplit(".", 1)[-1]
    known_unsafe = any(q.startswith("yaml.") for q in lineage)
    yield Hit(
        YAML_LOAD,
        f"`yaml.{func}(..., Loader={qualified})` constructs arbitrary Python objects from tags such as "
        "!!python/object/apply; use yaml.safe_load"
        if known_unsafe
        else f"`yaml.{func}` with Loader `{short}`, which is not a safe loader this scan can see; use yaml.safe_load",
        severity=None if known_unsafe else Severity.MEDIUM,
        properties={"loader": short},
    )
