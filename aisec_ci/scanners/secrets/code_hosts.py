"""Code-host and package-registry tokens: GitHub, GitLab, npm, PyPI.

GitHub and npm tokens end in a CRC32 of their random part, and PyPI tokens are
macaroons that decode to a fixed structure; a candidate failing its check is a
test fixture or a typo, and is not reported as that provider's key.
"""

from __future__ import annotations

from aisec_ci.scanners.secrets.checksums import gitlab_routable_checksum, has_crc32_suffix, pypi_macaroon_location
from aisec_ci.scanners.secrets.detector import CHECKSUM, SHAPED, STRUCTURE, RegexDetector, Verdict, provider_rule
from aisec_ci.severity import Severity

_B = r"(?<![A-Za-z0-9_\-])"
_E = r"(?![A-Za-z0-9_\-])"

GITHUB = provider_rule(
    "github-token",
    "GitHub",
    "classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) whose CRC32 checksum is verified offline, "
    "and fine-grained `github_pat_` tokens. A classic token with a wrong checksum is not reported.",
    'GITHUB_TOKEN = "ghp_…"',
    "In Actions use `${{ secrets.GITHUB_TOKEN }}` or a repository secret.",
    severity=Severity.CRITICAL,
    precision="very-high",
    references=("https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",),
)
GITLAB = provider_rule(
    "gitlab-token",
    "GitLab",
    "personal, deploy, runner, CI-build, trigger, agent, OAuth and feed tokens (`glpat-`, `gldt-`, `glrt-` …). "
    "Routable tokens (`glpat-<payload>.<length><crc>`, newer GitLab releases) have their CRC32 verified offline; one "
    "with a wrong checksum is not reported.",
    'gl = gitlab.Gitlab(url, private_token="glpat-…")',
    "Use a CI/CD variable (masked, protected).",
)
NPM = provider_rule(
    "npm-token",
    "npm",
    "`npm_` access tokens (CRC32 checksum verified offline) and `_authToken=` lines of `.npmrc`.",
    "//registry.npmjs.org/:_authToken=npm_…",
    "Write `_authToken=${NPM_TOKEN}` in `.npmrc` and provide `NPM_TOKEN` as a CI secret.",
    severity=Severity.CRITICAL,
)
PYPI = provider_rule(
    "pypi-token",
    "PyPI",
    "`pypi-` upload tokens; the macaroon inside is decoded and must name `pypi.org` or `test.pypi.org`.",
    "password = pypi-…",
    "Use trusted publishing (OIDC) from CI, or a project-scoped token stored as a CI secret.",
    severity=Severity.CRITICAL,
)

RULES = (GITHUB, GITLAB, NPM, PYPI)

_CHECKSUMMED = Verdict(Severity.CRITICAL, CHECKSUM)


def _crc_after_prefix(secret: str, _line: str) -> Verdict | None:
    body = secret.split("_", 1)[1]
    return _CHECKSUMMED if has_crc32_suffix(body) else None


def _gitlab(secret: str, _line: str) -> Verdict | None:
    checked = gitlab_routable_checksum(secret)
    if checked is None:
        return SHAPED  # legacy random tokens carry no checksum
    return _CHECKSUMMED if checked else None


def _pypi(secret: str, _line: str) -> Verdict | None:
    location = pypi_macaroon_location(secret[len("pypi-") :])
    return Verdict(Severity.CRITICAL, STRUCTURE) if location else None


def _npmrc(secret: str, _line: str) -> Verdict | None:
    # `npm_` values are left to the checksummed detector; this covers legacy UUID tokens.
    return None if secret.startswith(("npm_", "$", "{")) else SHAPED


DETECTORS = (
    RegexDetector(
        GITHUB,
        "GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        _B + r"(?P<secret>gh[pousr]_[A-Za-z0-9]{36})" + _E,
        _crc_after_prefix,
    ),
    RegexDetector(
        GITHUB,
        "GitHub fine-grained token",
        ("github_pat_",),
        _B + r"(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _E,
    ),
    RegexDetector(
        GITLAB,
        "GitLab token",
        ("glpat-", "gldt-", "glrt-", "glcbt-", "glptt-", "glimt-", "glagent-", "gloas-", "glft-", "glsoat-"),
        _B
        + r"(?P<secret>gl(?:pat|dt|rt|cbt|ptt|imt|agent|oas|ft|soat)-[A-Za-z0-9_\-]{20,300}"
        + r"(?:\.[A-Za-z0-9_\-.]{2,64})?)"
        + r"(?![A-Za-z0-9_\-.])",
        _gitlab,
    ),
    RegexDetector(NPM, "npm token", ("npm_",), _B + r"(?P<secret>npm_[A-Za-z0-9]{36})" + _E, _crc_after_prefix),
    RegexDetector(
        NPM,
        "npm token",
        ("_authtoken",),
        # `_authToken` starts a key of its own (`//registry/:_authToken=`), not the tail of a
        # name such as `_ngrok_authtoken`, which is another service's variable.
        r"(?<![A-Za-z0-9])(?i:_authToken)\s{0,3}=\s{0,3}['\"]?(?P<secret>[^\s'\"]{8,256})",
        _npmrc,
        filtered=True,
    ),
    RegexDetector(PYPI, "PyPI token", ("pypi-",), _B + r"(?P<secret>pypi-AgE[A-Za-z0-9_\-]{50,400})" + _E, _pypi),
)
