"""A detect-secrets `.secrets.baseline` imported as suppressions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aisec_ci.errors import ConfigError
from aisec_ci.findings import assign_fingerprints
from aisec_ci.scanners.secrets.baseline import load_detect_secrets_baseline
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.secret_tokens import TokenFactory, scan_path


def _detect_secrets_baseline(root: Path, rel: str) -> dict[str, object]:
    """Build the baseline with detect-secrets itself, as a user would have."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import transient_settings

    cwd = os.getcwd()
    os.chdir(root)
    try:
        with transient_settings(
            {
                "plugins_used": [
                    {"name": "AWSKeyDetector"},
                    {"name": "GitHubTokenDetector"},
                    {"name": "KeywordDetector"},
                ],
                "filters_used": [],
            }
        ):
            coll = SecretsCollection()
            coll.scan_file(rel)
            return {"version": "1.5.0", "plugins_used": [], "filters_used": [], "results": coll.json()}
    finally:
        os.chdir(cwd)


def test_baselined_secrets_are_suppressed_new_ones_are_not(tmp_path: Path) -> None:
    t = TokenFactory(21)
    old_token, new_token = t.aws_key_id(), t.github()
    src = tmp_path / "src"
    src.mkdir()
    app = src / "app.py"
    app.write_text(f'AWS_ID = "{old_token}"\ndb_password = "Pw9{t.alnum(12)}"\n')
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text(json.dumps(_detect_secrets_baseline(tmp_path, "src/app.py")))
    accepted = load_detect_secrets_baseline(baseline)

    # The file changes: lines move, the old secrets stay, one new token appears.
    app.write_text("import os\n\n" + app.read_text() + f'NEW = "{new_token}"\n')
    findings = assign_fingerprints(scan_path(app, FileKind.PYTHON, rel="src/app.py"), app.read_text().splitlines())
    assert len(findings) == 3
    remaining = [(f.start_line, f.rule_id) for f in findings if f.fingerprint not in accepted]
    assert remaining == [(5, "secrets/github-token")]


def test_prefix_only_github_entries_do_not_hide_tokens(tmp_path: Path) -> None:
    """detect-secrets 1.5.0's GitHub plugin hashes only the `ghp` prefix (its regex's
    capture group), so its entry cannot name a token; it must not hide every token."""
    t = TokenFactory(23)
    (tmp_path / "a.py").write_text(f'GH = "{t.github()}"\n')
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text(json.dumps(_detect_secrets_baseline(tmp_path, "a.py")))
    [f] = assign_fingerprints(scan_path(tmp_path / "a.py", FileKind.PYTHON, rel="a.py"), None)
    assert f.fingerprint not in load_detect_secrets_baseline(baseline)


def test_confirmed_secrets_stay_reported(tmp_path: Path) -> None:
    t = TokenFactory(22)
    token = t.aws_key_id()
    (tmp_path / "a.py").write_text(f'AWS_ID = "{token}"\n')
    data = _detect_secrets_baseline(tmp_path, "a.py")
    for entries in data["results"].values():  # type: ignore[attr-defined]
        for e in entries:
            e["is_secret"] = True
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text(json.dumps(data))
    f = assign_fingerprints(scan_path(tmp_path / "a.py", FileKind.PYTHON, rel="a.py"), None)
    assert f and f[0].fingerprint not in load_detect_secrets_baseline(baseline)


@pytest.mark.parametrize("content", ["not json", '{"version": "1.5.0"}', "[]"])
def test_bad_baseline_is_a_config_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / ".secrets.baseline"
    p.write_text(content)
    with pytest.raises(ConfigError, match=r"\.secrets\.baseline"):
        load_detect_secrets_baseline(p)


def _default_baseline(root: Path) -> dict[str, object]:
    """`detect-secrets scan` with its default plugins and filters, run in `root`."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings, get_settings

    cwd = os.getcwd()
    os.chdir(root)
    try:
        with default_settings():
            coll = SecretsCollection()
            for path in sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()):
                coll.scan_file(path)
            settings = get_settings().json()
            return {"version": "1.5.0", **settings, "results": coll.json()}
    finally:
        os.chdir(cwd)


def test_what_detect_secrets_hashed_suppresses_what_we_find(tmp_path: Path) -> None:
    # detect-secrets hashes the regex group for GitHub tokens (`ghp`), a private key's BEGIN line and
    # a Kubernetes Secret's base64 text: none is the SHA-1 of the value we find.
    from tests.conftest import load_json, run_cli

    t = TokenFactory(5)
    token, hf = t.github(), t.huggingface()
    import base64

    files = {
        ".env": f"GITHUB_TOKEN={token}\n",
        "k8s/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry\ntype: Opaque\ndata:\n"
            f"  HF_TOKEN: {base64.b64encode(hf.encode()).decode()}\n"
        ),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    baseline = _default_baseline(tmp_path)
    (tmp_path / ".secrets.baseline").write_text(json.dumps(baseline), encoding="utf-8")
    out = tmp_path / "r.json"
    args = ("scan", tmp_path, "--no-git", "--scanners", "secrets", "--profile", "audit", "-f", "json", "-o", out)
    proc = run_cli(*args, plugin=False)
    assert proc.returncode == 0, proc.stderr
    report = load_json(out)
    assert report["findings"] == []
    assert {(s["path"], s["rule_id"], s["suppression"]["kind"]) for s in report["suppressed"]} >= {
        (".env", "secrets/github-token", "baseline"),
        ("k8s/secret.yaml", "secrets/huggingface-token", "baseline"),
    }
    # A new value on an audited line hashes differently (detect-secrets hashes the base64 text here),
    # and a token on a new line has no entry: both are reported. (For GitHub tokens detect-secrets
    # hashes only the `ghp` group, so like detect-secrets we accept any token on an audited line.)
    secret = (tmp_path / "k8s" / "secret.yaml").read_text(encoding="utf-8")
    new_hf = base64.b64encode(t.huggingface().encode()).decode()
    (tmp_path / "k8s" / "secret.yaml").write_text(secret.rsplit(" ", 1)[0] + f" {new_hf}\n", encoding="utf-8")
    (tmp_path / ".env").write_text(f"GITHUB_TOKEN={token}\nDEPLOY_TOKEN={t.github()}\n", encoding="utf-8")
    proc = run_cli(*args, plugin=False)
    assert proc.returncode == 1
    found = sorted((f["path"], f["start_line"], f["rule_id"]) for f in load_json(out)["findings"])
    assert found == [(".env", 2, "secrets/github-token"), ("k8s/secret.yaml", 7, "secrets/huggingface-token")]


def test_a_baseline_naming_a_plugin_file_never_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plugin = tmp_path / "evil_plugin.py"
    plugin.write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    (tmp_path / "app.py").write_text('password = "Pw9xq7Lm2Vb8Rt4Z"\n', encoding="utf-8")
    baseline = {
        "version": "1.5.0",
        "plugins_used": [{"name": "Evil", "path": plugin.as_uri()}, {"name": "KeywordDetector"}],
        "filters_used": [{"path": plugin.as_uri() + "::f"}],
        "results": {"app.py": [{"type": "Secret Keyword", "hashed_secret": "0" * 40, "line_number": 1}]},
    }
    path = tmp_path / ".secrets.baseline"
    path.write_text(json.dumps(baseline), encoding="utf-8")
    load_detect_secrets_baseline(path, tmp_path)
    assert not marker.exists()
