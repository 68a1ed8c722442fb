"""docker/tls-verification-disabled."""

from __future__ import annotations

from tests.scanners.docker.docker_support import RULES, lines, scan

RULE = "docker/tls-verification-disabled"


def test_each_way_of_turning_verification_off() -> None:
    found = scan(RULES / "tls.Dockerfile")
    # ARG GIT_SSL_NO_VERIFY, ENV NODE_TLS..., wget, git -c, npm config, inline env, conda, yum.conf, curl -sSLk.
    assert lines(found, RULE) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    settings = {f.start_line: f.properties["setting"] for f in found if f.rule_id == RULE}
    assert settings[10] == "`curl --insecure`"
    assert settings[2] == "GIT_SSL_NO_VERIFY"


def test_curl_cluster_with_value_option_is_not_insecure() -> None:
    from aisec_ci.scanners.docker.tls import _curl_insecure

    assert _curl_insecure(["-fsSLk", "url"])
    # `-o` takes a value: the `k` after it is part of the file name.
    assert not _curl_insecure(["-fsSLokey.txt", "url"])
    assert not _curl_insecure(["-fsSL", "url"])
