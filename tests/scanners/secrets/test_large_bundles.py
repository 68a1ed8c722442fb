"""Multi-MB manifest bundles take shortcuts (one prefilter pass per distinct line, a
`kind: Secret` test only where a line starts with `kind:`): they must find exactly what
the plain passes find, at the same lines."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

from aisec_ci.scanners.secrets import engine, keyed_encodings
from aisec_ci.scanners.secrets.content import prefilter
from tests.scanners.secrets.secret_tokens import TokenFactory


def _bundle(t: TokenFactory) -> tuple[str, dict[str, int]]:
    """A bundle of repeated documents (well past the dedupe threshold) with a provider token
    in two copies of one line, and a Secret whose data holds a password."""
    doc = (
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n"
        '  description: "A long, repeated schema text that says password and secret often"\n'
        "  type: string\n"
    )
    token_line = f'  HF_TOKEN: "{t.huggingface()}"'
    encoded = base64.b64encode(f"Pw9{t.alnum(14)}".encode()).decode()
    parts = [doc * 300, "---\napiVersion: v1\nkind: ConfigMap\ndata:\n" + token_line + "\n", doc * 300]
    parts += [f"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: {encoded}\n"]
    parts += ["---\napiVersion: v1\nkind: ConfigMap\ndata:\n" + token_line + "\n", doc * 300]
    text = "".join(parts)
    lines = text.split("\n")
    where = {"first_token": lines.index(token_line) + 1, "secret_data": lines.index(f"  password: {encoded}") + 1}
    where["second_token"] = lines.index(token_line, where["first_token"]) + 1
    return text, where


def test_distinct_line_prefilter_matches_the_plain_pass() -> None:
    rng = random.Random(3)
    atoms = ['password: "', "secret", "ghp_", "sk-ant-", "İ", "Σ", "ΑΣ", " ", '"', "'", "api_key=", "\r", "\r\n"]
    atoms += ["AbCdEfGhIjKlMnOpQrStUvWx0123", "hf_", "Contraseña", "\u2028", "tab\t"]
    texts = [_bundle(TokenFactory(5))[0]]
    for _ in range(300):
        pool = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 6))]
        texts.append("\n".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    for text in texts:
        for entropy in (True, False):
            for generic in (True, False):
                pf = prefilter(entropy)
                plain = engine._notes(text, pf, generic)
                assert engine._notes_per_distinct_line(text, pf, generic) == plain, repr(text[:80])


def test_secret_kind_found_where_a_line_starts_with_it() -> None:
    for text in [
        "kind: Secret\n",
        "a: 1\nkind: 'Secret'\n",
        "x\nkind:\n  Secret\n",
        "kind: Secrets\n",
        "a kind: Secret",
    ]:
        assert keyed_encodings._declares_secret(text) == bool(keyed_encodings._K8S_SECRET_RE.search(text)), text


def test_bundle_findings_keep_their_lines(tmp_path: Path) -> None:
    t = TokenFactory(23)
    text, where = _bundle(t)
    assert len(text) > engine.DEDUPE_MIN_CHARS
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "bundle.yaml").write_text(text)
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--scanners", "secrets", "--no-git", "--jobs", "1"]
    proc = subprocess.run([*cmd, "--format", "json", "-o", str(out), "--fail-on", "none"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    found = {(f["rule_id"], f["start_line"]) for f in json.loads(out.read_text())["findings"]}
    assert ("secrets/huggingface-token", where["first_token"]) in found
    assert ("secrets/huggingface-token", where["second_token"]) in found
    assert any(line == where["secret_data"] for _rule, line in found)
