"""detect-secrets' own plugins, hosted here: the keyword plugin, the two entropy
plugins and its provider plugins we have no dedicated detector for.

Plugins are called through `analyze_string` only. That skips detect-secrets'
per-line settings lookup and its verification hook, so no candidate is ever
sent to a provider (verification off by construction).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.keyword import (
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    REGEX_BY_FILETYPE,
    KeywordDetector,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector
from detect_secrets.util.filetype import determine_file_type

from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets.detector import ENTROPY, KEYWORD, Candidate, Detector, Verdict
from aisec_ci.severity import Severity

GENERIC_SECRET = Rule(
    id="secrets/generic-secret",
    name="Hard-coded password or secret",
    short_description="A secret-named variable is assigned a literal value.",
    severity=Severity.MEDIUM,
    what="Runs detect-secrets' keyword plugin (names such as `password`, `secret`, `api_key`, `private_key` "
    "assigned a quoted literal) and then its false-positive filters plus aisec-ci's: placeholders, "
    "templates, environment lookups, digests, UUIDs and ids are dropped, and so are values that are not "
    "credential literals: code expressions and comparisons, references, names of keys, annotations, "
    "variables, types and Secrets, gzip and certificate base64. Published sample credentials (`minioadmin`) "
    "are reported at info as public. Other tools' allow-list comments (`pragma: allowlist secret`, "
    "`gitleaks:allow`, `#nosec G101`, `nolint:gosec`) suppress secrets findings inline.",
    why="Literal passwords and API keys in code are shared with everyone who can read the repository and "
    "cannot be rotated without a commit.",
    example='DB_PASSWORD = "…"',
    example_language="python",
    fix="Read the value from the environment or a secret manager; rotate the exposed value.",
    tags=("CWE-798", "CWE-259", "secrets"),
    precision="medium",
)
HIGH_ENTROPY = Rule(
    id="secrets/high-entropy-string",
    name="High-entropy string",
    short_description="A quoted string looks random enough to be a key.",
    severity=Severity.LOW,
    what="detect-secrets' Base64 (entropy > 4.5) and hex (entropy > 3.0) plugins on quoted strings of "
    "20+ characters, after its filters and aisec-ci's (digests and lock hashes, UUIDs, paths, placeholders).",
    why="Unknown credential formats are often only recognisable by their randomness.",
    example='TOKEN = "…"  # 40 random base64 characters',
    example_language="python",
    fix="If it is a credential, rotate it and load it at run time; if not (a digest, a test vector), "
    "suppress it with a reason.",
    tags=("CWE-798", "secrets"),
    precision="low",
    profile="audit",
)
OTHER_PROVIDER = Rule(
    id="secrets/other-provider-token",
    name="Third-party service token",
    short_description="A token of a service covered by detect-secrets' plugins is hard-coded.",
    severity=Severity.HIGH,
    what="detect-secrets' provider plugins without a dedicated aisec-ci detector: SendGrid, Square, "
    "Artifactory, Mailchimp, IBM Cloud IAM, SoftLayer and Cloudant; Twilio, Discord and Telegram bot tokens "
    'when the service is named on the same line (`TWILIO_API_KEY = "SK…"`, `api.telegram.org/bot…`), '
    "because their bare shapes (`SK` + 32 characters, `digits:35 characters`) are too common to search for "
    "alone.",
    why="Service tokens give the holder the account's access and are harvested from public repositories.",
    example='SENDGRID_API_KEY = "SG.…"',
    example_language="python",
    fix="Revoke the token and load it from the environment or a secret manager.",
    tags=("CWE-798", "secrets"),
)

RULES = (GENERIC_SECRET, HIGH_ENTROPY, OTHER_PROVIDER)

_KEYWORD_VERDICT = Verdict(Severity.MEDIUM, KEYWORD)
_ENTROPY_VERDICT = Verdict(Severity.LOW, ENTROPY)
_PLUGIN_VERDICT = Verdict(Severity.HIGH, "format")


@lru_cache(maxsize=256)
def _file_type(path: str) -> Any:
    return determine_file_type(path)


_PLUGIN = KeywordDetector()


@lru_cache(maxsize=16384)
def _keyword_values(text: str, file_type: Any) -> tuple[str, ...]:
    """detect-secrets' keyword plugin on one line, remembered per process: its regexes are most
    of the secrets scan's detector time, and manifest bundles repeat their keyword lines (a
    Secret reference, an RBAC rule on `secrets`) in file after file. A pure function of the
    text and the file type's regexes."""
    regexes = REGEX_BY_FILETYPE.get(file_type, QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    return tuple(_PLUGIN.analyze_string(text, denylist_regex_to_group=regexes))


def _locate(text: str, secret: str, after: int = 0) -> int:
    idx = text.find(secret, after)
    return idx if idx >= 0 else text.find(secret)


class KeywordSecretDetector(Detector):
    rule = GENERIC_SECRET
    secret_type = "Secret keyword"
    keywords = (
        *(
            k + sep + "key"
            for k in ("api", "auth", "service", "account", "db", "database", "priv", "private", "client")
            for sep in ("_", "")
        ),
        *("db_pass", "dbpass", "database_pass", "databasepass", "key_pass", "keypass"),
        *("password", "passwd", "pwd", "secret", "contraseña", "contrasena"),
    )
    generic = True

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        for secret in _keyword_values(text, _file_type(path or "x.py")):
            if not secret:
                continue
            idx = _locate(text, secret)
            if idx >= 0:
                yield Candidate(idx, idx + len(secret), secret, _KEYWORD_VERDICT)


class EntropyDetector(Detector):
    rule = HIGH_ENTROPY
    keywords = ()
    generic = True

    def __init__(self, plugin: Any, secret_type: str) -> None:
        self.plugin = plugin
        self.secret_type = secret_type

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        pos = 0
        for secret in self.plugin.analyze_string(text):
            if len(secret) < 20 or self._entropy(secret) <= self.plugin.entropy_limit:
                continue
            idx = _locate(text, secret, pos)
            if idx >= 0:
                pos = idx + len(secret)
                yield Candidate(idx, idx + len(secret), secret, _ENTROPY_VERDICT)

    def _entropy(self, secret: str) -> float:
        """detect-secrets' Shannon entropy. Its base implementation counts every
        charset character with str.count (64 passes per string); a Counter gives
        the same value in one pass. The hex plugin's digit adjustment is kept by
        delegating to it."""
        if isinstance(self.plugin, HexHighEntropyString):
            return float(self.plugin.calculate_shannon_entropy(secret))
        n = len(secret)
        charset = self.plugin.charset
        return -sum((c / n) * math.log2(c / n) for ch, c in Counter(secret).items() if ch in charset)


class PluginDetector(Detector):
    rule = OTHER_PROVIDER

    def __init__(self, plugin: BasePlugin, keywords: tuple[str, ...]) -> None:
        self.plugin = plugin
        self.secret_type = str(plugin.secret_type)
        self.keywords = keywords

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        for secret in self.plugin.analyze_string(text):
            idx = _locate(text, secret) if secret else -1
            if idx >= 0:
                yield Candidate(idx, idx + len(secret), secret, _PLUGIN_VERDICT)


DETECTORS: tuple[Detector, ...] = (
    KeywordSecretDetector(),
    PluginDetector(SendGridDetector(), ("sg.",)),
    PluginDetector(SquareOAuthDetector(), ("sq0csp-",)),
    PluginDetector(ArtifactoryDetector(), ("akc",)),
    PluginDetector(MailchimpDetector(), ("-us",)),
    PluginDetector(IbmCloudIamDetector(), ("ibm",)),
    PluginDetector(SoftlayerDetector(), ("softlayer",)),
    PluginDetector(CloudantDetector(), ("cloudant",)),
    # Keyed on the service name: a prefilter on `sk`/`ac` or on digits would wake on most lines of code.
    PluginDetector(TwilioKeyDetector(), ("twilio",)),
    PluginDetector(DiscordBotTokenDetector(), ("discord",)),
    PluginDetector(TelegramBotTokenDetector(), ("telegram",)),
)
ENTROPY_DETECTORS: tuple[Detector, ...] = (
    EntropyDetector(Base64HighEntropyString(limit=4.5), "Base64 high-entropy string"),
    EntropyDetector(HexHighEntropyString(limit=3.0), "Hex high-entropy string"),
)
