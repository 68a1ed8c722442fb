"""The allow-list/deny-list policy and how one pickle's behaviour becomes issues."""

from __future__ import annotations

import pytest

from aisec_ci.scanners.models import pickle_machine as pm
from aisec_ci.scanners.models.pickle_policy import (
    PICKLE_CODE_EXECUTION,
    PICKLE_UNKNOWN_IMPORT,
    Policy,
    Verdict,
    assess,
)
from aisec_ci.scanners.models.stream import BytesBlob
from tests.call_budget import assert_linear

POLICY = Policy()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch", "FloatStorage"),
        ("torch", "bfloat16"),
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
        ("builtins", "frozenset"),
        ("__builtin__", "set"),
        ("__builtin__", "xrange"),
        ("copy_reg", "_reconstructor"),
        ("_codecs", "encode"),
        ("sklearn.ensemble._forest", "RandomForestClassifier"),
        ("xgboost.core", "Booster"),
        ("transformers.training_args", "TrainingArguments"),
        ("torch.nn.modules.linear", "Linear"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("argparse", "Namespace"),
    ],
)
def test_allowed(module: str, name: str) -> None:
    assert POLICY.classify(module, name) == (Verdict.ALLOW, "")


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("commands", "getoutput"),  # Python 2 name, loaded as subprocess
        ("__builtin__", "eval"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("builtins", "dict.get"),
        ("builtins", "object.__subclasses__"),
        ("asyncio.unix_events", "_UnixSubprocessTransport"),
        ("numpy", "__builtins__"),
        ("collections", "OrderedDict.__init__.__globals__"),
        ("_interpreters", "run_string"),
        ("_posixsubprocess", "fork_exec"),
        ("importlib", "import_module"),
        ("pkgutil", "resolve_name"),
        ("marshal", "loads"),
        ("types", "CodeType"),
        ("operator", "methodcaller"),
        ("functools", "partial"),
        ("runpy", "run_path"),
        ("multiprocessing.popen_fork", "Popen"),
        ("torch.serialization", "load"),
        ("numpy.f2py", "run_main"),
    ],
)
def test_denied(module: str, name: str) -> None:
    verdict, reason = POLICY.classify(module, name)
    assert verdict is Verdict.DENY
    assert reason


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("mypackage.models", "MyNet"),
        ("sklearn.utils._testing", "ignore_warnings"),  # a function in an ML package
        ("__main__", "Model"),
        ("numpy", "fromstring"),
        ("builtins", "print"),
    ],
)
def test_unknown(module: str, name: str) -> None:
    assert POLICY.classify(module, name) == (Verdict.UNKNOWN, "")


def test_configuration_extends_both_lists() -> None:
    policy = Policy(extra_allowed=frozenset({"mypackage.models.MyNet"}), extra_denied=frozenset({"sklearn.*"}))
    assert policy.classify("mypackage.models", "MyNet")[0] is Verdict.ALLOW
    assert policy.classify("sklearn.linear_model", "LogisticRegression")[0] is Verdict.DENY
    assert policy.classify("mypackage.models", "Other")[0] is Verdict.UNKNOWN


def _assess(data: bytes) -> list[tuple[str, str]]:
    results = pm.analyse_stream(BytesBlob(data).stream())
    return [(i.rule.id, i.subject) for r in results for i in assess(r, POLICY)]


def test_issue_subjects_are_independent_of_offsets() -> None:
    payload = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R."
    padded = b"\x80\x02cos\nsystem\n(" + b"N0" * 50 + b"X\x02\x00\x00\x00idt" + b"R."
    assert _assess(payload) == _assess(padded) == [(PICKLE_CODE_EXECUTION.id, "import:os.system")]


def test_unknown_import_is_medium_and_names_the_global() -> None:
    issues = _assess(b"\x80\x04\x8c\x08mypkg.io\x8c\x06Loader\x93).")
    assert issues == [(PICKLE_UNKNOWN_IMPORT.id, "unknown:mypkg.io.Loader")]


def test_benign_torch_state_dict_has_no_issues() -> None:
    from tests.scanners.models import model_corpus as mc

    assert _assess(mc.torch_state_dict_pickle(5)) == []
    assert _assess(mc.sklearn_like()) == []
    assert _assess(mc.hf_training_args()) == []


def test_many_unknown_imports_are_summarised_in_linear_time() -> None:
    def imports(n: int) -> bytes:
        return b"\x80\x04" + b"".join(b"\x8c\x05m%04d\x8c\x01X\x93)R0" % i for i in range(n)) + b"N."

    # Work counted, not timed: 4x the imports must cost about 4x the calls.
    assert_linear(lambda n: _assess(imports(n)), 500)
    issues = _assess(imports(5000))
    assert len(issues) == 101
    assert issues[-1] == (PICKLE_UNKNOWN_IMPORT.id, "unknown:more")
