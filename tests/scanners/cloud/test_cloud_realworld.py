"""Every real-world policy parses, and our findings match a snapshot reviewed by hand.

Regenerate after a deliberate change with AISEC_UPDATE_SNAPSHOTS=1 and review the diff."""

from __future__ import annotations

import json
import os

import pytest

from tests.scanners.cloud.cloud_support import FIXTURES, SHARED, scan

REALWORLD = SHARED / "data" / "realworld" / "iam"
SNAPSHOT = FIXTURES / "realworld-snapshot.json"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared real-world data not present")
def test_realworld_policies_match_reviewed_snapshot() -> None:
    triples: list[list[object]] = []
    files = sorted(p for p in REALWORLD.rglob("*.json") if p.is_file())
    assert files
    for path in files:
        rel = path.relative_to(REALWORLD).as_posix()
        triples.extend([rel, f.rule_id, f.start_line] for f in scan(path))
    triples.sort(key=lambda t: (str(t[0]), int(str(t[2])), str(t[1])))
    if os.environ.get("AISEC_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("[\n" + ",\n".join(json.dumps(t) for t in triples) + "\n]\n")
    assert triples == json.loads(SNAPSHOT.read_text())


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared real-world data not present")
def test_aws_examples_behave_as_documented() -> None:
    docs = REALWORLD / "aws-docs"
    assert [f.rule_id for f in scan(docs / "AdministratorAccess.json")] == ["iam/full-admin"]
    # Deny-insecure-transport example: nothing to report.
    assert scan(docs / "s3-bucket-policy-deny-insecure-transport.json") == []
    # Principal "*" limited by aws:SourceIp is not public.
    assert all(f.rule_id != "iam/public-principal" for f in scan(docs / "s3-bucket-policy-ip-restrict.json"))
    assert any(f.rule_id == "iam/public-principal" for f in scan(docs / "s3-bucket-policy-public-read.json"))
