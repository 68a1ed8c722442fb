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
