"""Loading `.aisec.yml`: every key, defaults, and the exact error messages."""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from aisec_ci.config.loader import Config, IgnoreEntry, RuleOverride, find_config, load_config, parse_size
from aisec_ci.errors import ConfigError
from aisec_ci.severity import Severity
from tests.config.config_fakes import FIXTURES, SCANNERS, make_catalog

Loader = Callable[[str], Config]


def error_lines(load: Loader, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    assert info.value.exit_code == 2
    return str(info.value).splitlines()


def load_fixture(tmp_path: Path, name: str) -> Config:
    shutil.copy(FIXTURES / name, tmp_path / ".aisec.yml")
    return load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())


# --- every key --------------------------------------------------------------------------


def test_full_config_every_key(tmp_path: Path) -> None:
    cfg = load_fixture(tmp_path, "full.aisec.yml")
    assert cfg.path == (tmp_path / ".aisec.yml").resolve()
    assert cfg.scanners == ("deps", "secrets", "docker", "kubernetes")
    assert cfg.fail_on is Severity.MEDIUM and cfg.fail_on_set
    assert cfg.include == ("src/**", "deploy/**", "notebooks/**")
    assert cfg.exclude == ("tests/fixtures/**", "**/*.min.js")
    assert cfg.max_file_size == 10 * 1024 * 1024
    assert cfg.max_model_size == 8 * 1024**3
    assert cfg.baseline == ".aisec-baseline.json"
    assert dict(cfg.rules) == {
        "docker/healthcheck-missing": RuleOverride(enabled=True, severity=None, reason=""),
        "docker/root-user": RuleOverride(enabled=None, severity=Severity.MEDIUM, reason=""),
        "k8s/privileged-container": RuleOverride(enabled=False, severity=None, reason="GPU device plugin needs it"),
    }
    assert cfg.ignores == (
        IgnoreEntry(
            rule="secrets/openai-api-key",
            path="notebooks/demo/**",
            fingerprint=None,
            reason="rotated key, revoked 2026-10-01",
            until=dt.date(2026, 12, 31),  # unquoted YAML date
            line=16,
        ),
        IgnoreEntry(
            rule=None,
            path="legacy/**",
            fingerprint=None,
            reason="legacy training scripts, removal tracked in #412",
            until=dt.date(2027, 3, 1),  # quoted string date
            line=20,
        ),
        IgnoreEntry(
            rule=None,
            path=None,
            fingerprint="3f2a9c1d0b7e4a55c2d1e0f9a8b7c6d5",
            reason="false positive, the token is a public test fixture",
            until=None,
            line=23,
        ),
    )
    assert dict(cfg.scanner_options) == {
        "deps": {"offline-db": ".cache/osv.db", "ignore-unfixed": True},
        "secrets": {"entropy-threshold": 4.5},
    }
    assert cfg.relpath(tmp_path) == ".aisec.yml"


def test_config_pickles_for_worker_processes(tmp_path: Path) -> None:
    cfg = load_fixture(tmp_path, "full.aisec.yml")
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_fail_on_none_and_unset(load: Loader) -> None:
    cfg = load("fail-on: none\n")
    assert cfg.fail_on is None and cfg.fail_on_set
    cfg = load("fail-on: critical\n")
    assert cfg.fail_on is Severity.CRITICAL and cfg.fail_on_set
    cfg = load("include: [src/**]\n")
    assert cfg.fail_on is None and not cfg.fail_on_set


# --- finding the file, defaults -------------------------------------------------------------


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    cfg = load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())
    assert cfg == Config()
    assert cfg.scanners is None and cfg.rules == {} and cfg.ignores == () and cfg.relpath(tmp_path) is None


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "\n\n"])
def test_empty_config_gives_defaults(load: Loader, tmp_path: Path, text: str) -> None:
    cfg = load(text)
    assert cfg.path == (tmp_path / ".aisec.yml").resolve()
    assert cfg.scanners is None and not cfg.fail_on_set and cfg.ignores == () and cfg.scanner_options == {}


def test_yaml_extension_is_found(tmp_path: Path) -> None:
    (tmp_path / ".aisec.yaml").write_text("fail-on: low\n")
    assert find_config(tmp_path) == tmp_path / ".aisec.yaml"
    cfg = load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())
    assert cfg.fail_on is Severity.LOW


def test_both_extensions_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".aisec.yaml").write_text("fail-on: low\n")
    (tmp_path / ".aisec.yml").write_text("fail-on: high\n")
    with pytest.raises(ConfigError, match=r"both \.aisec\.yml and \.aisec\.yaml exist"):
        find_config(tmp_path)


def test_explicit_path_outside_root(tmp_path: Path) -> None:
    other = tmp_path / "ci" / "strict.yml"
    other.parent.mkdir()
    other.write_text("fail-on: info\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".aisec.yml").write_text("fail-on: critical\n")  # an explicit --config wins
    cfg = load_config(other, root=root, scanners=SCANNERS, catalog=make_catalog())
    assert cfg.fail_on is Severity.INFO and cfg.path == other.resolve()
    assert cfg.relpath(root) is None


def test_explicit_path_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Path("x.yml"), root=tmp_path, scanners=SCANNERS, catalog=make_catalog())
    assert str(info.value) == "--config x.yml: file not found"


def test_explicit_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())


# --- schema errors ------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_fixture(tmp_path, "typo.aisec.yml")
    (line,) = str(info.value).splitlines()
    assert line.startswith(".aisec.yml: fail_on: unknown key (did you mean 'fail-on'?); valid keys: baseline, ")
    assert "fail-on" in line.split("valid keys:")[1]


def test_bad_fail_on(load: Loader) -> None:
    assert error_lines(load, "fail-on: hgih\n") == [
        ".aisec.yml: fail-on: 'hgih' is not one of ['critical', 'high', 'medium', 'low', 'info', 'none']"
        " (did you mean 'high'?)"
    ]


def test_empty_value_for_a_scalar_key(load: Loader) -> None:
    assert error_lines(load, "fail-on:\n") == [".aisec.yml: fail-on: is empty; give it a value or remove the key"]


def test_empty_collections_mean_defaults(load: Loader) -> None:
    cfg = load("scanners:\nrules:\nignores:\ninclude:\nexclude:\ndeps:\n")
    assert cfg.scanners is None and cfg.rules == {} and cfg.ignores == () and cfg.include == ()
    assert cfg.scanner_options == {"deps": {}}


def test_bad_ignores_every_problem_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_fixture(tmp_path, "bad-ignores.aisec.yml")
    assert str(info.value).splitlines() == [
        ".aisec.yml: ignores[0].reason: 'reason' is a required property",
        ".aisec.yml: ignores[1].reason: must not be empty",
        ".aisec.yml: ignores[2]: needs at least one of 'rule', 'path', 'fingerprint' or 'advisory'",
        ".aisec.yml: ignores[3].until: '31/12/2026' is not a date in YYYY-MM-DD form",
        ".aisec.yml: ignores[4].until: '2026-02-30' is not a valid date",
    ]


def test_ignore_with_unknown_key(load: Loader) -> None:
    assert error_lines(load, "ignores:\n  - rule: secrets/keyword\n    reason: x\n    expires: 2026-01-01\n") == [
        ".aisec.yml: ignores[0].expires: unknown key"
    ]


def test_ignore_rule_glob_must_match_a_rule(load: Loader) -> None:
    lines = error_lines(load, "ignores:\n  - rule: secret/*\n    reason: x\n  - rule: docker/rot-user\n    reason: y\n")
    assert lines == [
        ".aisec.yml: ignores[0].rule: 'secret/*' matches no known rule (did you mean 'secrets/*'?)",
        ".aisec.yml: ignores[1].rule: 'docker/rot-user' matches no known rule (did you mean 'docker/root-user'?)",
    ]
    cfg = load("ignores:\n  - rule: '*'\n    path: vendor/**\n    reason: vendored code\n")
    assert cfg.ignores[0].rule == "*"


def test_yaml_datetime_is_not_a_date(load: Loader) -> None:
    lines = error_lines(load, "ignores:\n  - rule: secrets/keyword\n    reason: x\n    until: 2026-12-31 10:00:00\n")
    assert lines == [".aisec.yml: ignores[0].until: '2026-12-31 10:00:00' is not a date in YYYY-MM-DD form"]


def test_unknown_rule_id_suggests_close_match(load: Loader) -> None:
    assert error_lines(load, "rules:\n  docker/rot-user: {severity: low}\n") == [
        ".aisec.yml: rules.docker/rot-user: unknown rule id (did you mean 'docker/root-user'?); see `aisec-ci rules`"
    ]


def test_rule_override_shape_errors(load: Loader) -> None:
    lines = error_lines(
        load,
        "rules:\n"
        "  docker/root-user: {severity: severe}\n"
        "  Docker/Root: {enabled: false}\n"
        "  secrets/keyword: {reason: noisy}\n"
        "  deps/vulnerable-package: {enabled: 'no', why: x}\n",
    )
    assert lines == [
        ".aisec.yml: rules.Docker/Root: 'Docker/Root' is not a rule id of the form family/slug (see `aisec-ci rules`)",
        ".aisec.yml: rules.deps/vulnerable-package.enabled: 'no' is not of type 'boolean'",
        ".aisec.yml: rules.deps/vulnerable-package.why: unknown key",
        ".aisec.yml: rules.docker/root-user.severity: 'severe' is not one of "
        "['critical', 'high', 'medium', 'low', 'info']",
        ".aisec.yml: rules.secrets/keyword: needs 'enabled' or 'severity'",
    ]


def test_unknown_scanner_lists_valid_ones(load: Loader) -> None:
    assert error_lines(load, "scanners: [deps, dokcer]\n") == [
        ".aisec.yml: scanners[1]: unknown scanner 'dokcer' (did you mean 'docker'?); "
        "valid scanners: deps, docker, kubernetes, secrets"
    ]


def test_scanners_list_shape(load: Loader) -> None:
    assert error_lines(load, "scanners: []\n") == [
        ".aisec.yml: scanners: must name at least one scanner (remove the key to run them all)"
    ]
    assert error_lines(load, "scanners: deps\n") == [".aisec.yml: scanners: 'deps' is not of type 'array'"]
    assert error_lines(load, "scanners: [deps, deps]\n") == [
        ".aisec.yml: scanners: ['deps', 'deps'] has non-unique elements"
    ]


def test_section_of_a_scanner_that_is_not_installed(load: Loader) -> None:
    assert error_lines(load, "models:\n  max-depth: 3\n") == [
        ".aisec.yml: models: no scanner named 'models' is installed (installed: deps, docker, kubernetes, secrets)"
    ]


def test_scanner_sections_validated_by_their_options_schema(load: Loader) -> None:
    lines = error_lines(
        load, "deps:\n  offline-db: 5\n  timout: 3\nsecrets:\n  entropy-threshold: 9.5\ndocker:\n  x: 1\n"
    )
    assert lines == [
        ".aisec.yml: deps.offline-db: 5 is not of type 'string'",
        ".aisec.yml: deps.timout: unknown key (did you mean 'timeout'?)",
        ".aisec.yml: docker.x: unknown key",
        ".aisec.yml: secrets.entropy-threshold: 9.5 is greater than the maximum of 8",
    ]
    assert error_lines(load, "deps: [offline-db]\n") == [".aisec.yml: deps: ['offline-db'] is not of type 'object'"]


def test_include_exclude_and_baseline_shape(load: Loader) -> None:
    assert error_lines(load, "include: src/**\nexclude: ['', 3]\nbaseline: ''\n") == [
        ".aisec.yml: baseline: '' should be non-empty",
        ".aisec.yml: exclude[0]: must not be empty",
        ".aisec.yml: exclude[1]: 3 is not of type 'string'",
        ".aisec.yml: include: 'src/**' is not of type 'array'",
    ]


def test_invalid_globs(load: Loader) -> None:
    lines = error_lines(
        load,
        "exclude: ['!', 'data/[z-a]', '!keep.py', 'a\\']\n"
        "ignores:\n  - path: '!vendor/**'\n    reason: x\n  - path: 'b/[z-a]'\n    reason: y\n",
    )
    assert [line.split(": ", 2)[1] for line in lines] == [
        "exclude[0]",
        "exclude[1]",
        "exclude[3]",
        "ignores[0].path",
        "ignores[1].path",
    ]
    assert lines[0].startswith(".aisec.yml: exclude[0]: '!' is not a valid gitignore-style glob (")
    assert (
        lines[3] == ".aisec.yml: ignores[0].path: '!vendor/**' is a negated pattern, which on its own matches no path"
    )


def test_non_string_keys_are_reported_readably(load: Loader) -> None:
    # YAML 1.1 reads a bare `yes:` key as a boolean.
    assert error_lines(load, "yes: 1\n") == [
        ".aisec.yml: true: unknown key (did you mean 'rules'?); valid keys: baseline, cloud, code, deps, docker, "
        "exclude, fail-on, ignores, include, kubernetes, max-file-memory, max-file-seconds, max-file-size, "
        "max-model-size, min-severity, models, profile, roles, rules, scanners, secrets, workflows"
    ]


def test_error_count_is_capped(load: Loader) -> None:
    text = "ignores:\n" + "".join(f"  - rule: secrets/keyword\n    n{i}: x\n" for i in range(30))
    lines = error_lines(load, text)
    assert len(lines) == 21 and lines[-1] == ".aisec.yml: ... and 40 more problems"


# --- YAML-level errors ------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_fixture(tmp_path, "broken-yaml.aisec.yml")
    message = str(info.value)
    assert message.startswith(".aisec.yml: line 4, column 4: invalid YAML: ")
    assert "\n" not in message and "Traceback" not in message


def test_top_level_must_be_a_mapping(load: Loader) -> None:
    assert error_lines(load, "- fail-on: high\n") == [".aisec.yml: the top level must be a mapping"]
    assert error_lines(load, "high\n") == [".aisec.yml: the top level must be a mapping"]


def test_duplicate_key(load: Loader) -> None:
    assert error_lines(load, "fail-on: high\ninclude: [a]\nfail-on: none\n") == [
        ".aisec.yml: line 3, column 1: duplicate key 'fail-on' (first on line 1)"
    ]


def test_two_documents(load: Loader) -> None:
    (line,) = error_lines(load, "fail-on: high\n---\nfail-on: low\n")
    assert line.startswith(".aisec.yml: line 2, column 1: invalid YAML: ")


def test_alias_bomb_is_refused(load: Loader) -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    (line,) = error_lines(load, text)
    assert line == ".aisec.yml: the file expands to more than 100000 values (YAML aliases?)"


def test_recursive_alias_and_deep_nesting(load: Loader) -> None:
    assert error_lines(load, "exclude: &a [x, *a]\n") == [".aisec.yml: line 1: recursive YAML alias"]
    assert error_lines(load, "include: " + "[" * 5000 + "]" * 5000 + "\n") == [
        ".aisec.yml: invalid YAML: nested too deeply"
    ]


def test_aliases_within_limits_work(load: Loader) -> None:
    cfg = load("ignores:\n  - path: a/**\n    reason: &why shared vendored code\n  - path: b/**\n    reason: *why\n")
    assert [e.reason for e in cfg.ignores] == ["shared vendored code", "shared vendored code"]


def test_explicit_timestamp_tag_with_bad_date(load: Loader) -> None:
    (line,) = error_lines(load, "ignores:\n  - path: a\n    reason: x\n    until: !!timestamp 2026-13-45\n")
    assert line.startswith(".aisec.yml: invalid YAML value: ")


def test_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / ".aisec.yml").write_bytes(b"fail-on: high\nexclude: ['caf\xe9/**']\n")
    with pytest.raises(ConfigError) as info:
        load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())
    assert str(info.value) == ".aisec.yml: line 2: not valid UTF-8 text"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / ".aisec.yml").write_bytes(b"\xef\xbb\xbffail-on: low\n")
    assert load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog()).fail_on is Severity.LOW


# --- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4096, 4096),
        ("512", 512),
        ("100B", 100),
        ("64KiB", 64 * 1024),
        ("64kb", 64_000),
        ("10MiB", 10 * 1024**2),
        ("10MB", 10_000_000),
        ("1.5GiB", 3 * 1024**3 // 2),
        ("8 GiB", 8 * 1024**3),
        (" 2 GB ", 2_000_000_000),
        ("1TiB", 1024**4),
    ],
)
def test_parse_size(value: int | str, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0", "0.0001KB", "10 parsecs", "MiB", "1e6", True, "-5MB"])
def test_parse_size_rejects(value: int | str) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_size_keys_in_config(load: Loader) -> None:
    cfg = load("max-file-size: 2MB\nmax-model-size: 1073741824\n")
    assert cfg.max_file_size == 2_000_000 and cfg.max_model_size == 1024**3
    assert error_lines(load, "max-file-size: 10 parsecs\nmax-model-size: 0\n") == [
        ".aisec.yml: max-file-size: must be a positive number of bytes or a size such as 512KiB, 10MiB, 8GiB or 100MB",
        ".aisec.yml: max-model-size: must be a positive number of bytes or a size such as 512KiB, 10MiB, 8GiB or 100MB",
    ]


def test_oversized_config_says_so_with_the_cap(tmp_path: Path) -> None:
    # Before: 540 MB and 16 s on a 10 MB `ignores:` list, then an error blaming aliases.
    from tests.conftest import run_cli

    entry = "  - rule: docker/privileged\n    path: a\n    reason: r\n"
    (tmp_path / ".aisec.yml").write_text("ignores:\n" + entry * (2 * 1024 * 1024 // len(entry)))
    proc = run_cli("scan", tmp_path, "--scanners", "secrets")
    assert proc.returncode == 2
    assert ".aisec.yml: is larger than the 1 MiB cap (2.0 MiB)" in proc.stderr
    assert "Traceback" not in proc.stderr and "alias" not in proc.stderr


def test_many_plain_values_are_not_blamed_on_aliases(load: Loader) -> None:
    (line,) = error_lines(load, "exclude:\n" + "  - a\n" * 100_001)
    assert line == ".aisec.yml: the file holds more than 100000 values (the most a config may have)"
