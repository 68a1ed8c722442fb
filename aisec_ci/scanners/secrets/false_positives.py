"""False-positive control: values that look secret but are not.

detect-secrets' heuristic filters run first (same behaviour users know from its
baseline workflow); the rest covers what ML repositories are full of: digests,
lock hashes, placeholders, templates, environment lookups, redactions.
"""

from __future__ import annotations

import re

from detect_secrets.filters import heuristic

from aisec_ci.severity import Severity

# Searched, not matched with leading `.*`: this runs on every generic candidate.
_PLACEHOLDER_RE = re.compile(
    r"""(?:your|my|insert|replace|enter|put|paste|add)[_\- ]?(?:own[_\- ]?)?
            (?:api|access|secret|key|token|pass|password|here|value|org|client)
      | sample|dummy|placeholder|changeme|change[_-]me|redacted|fake|foobar|notasecret
      | not[_-]?a[_-]?(?:real|secret)|xxx|\*\*\*|\.\.\.|…|todo|fixme|secret[_-]?here|<[^>]*>""",
    re.IGNORECASE | re.VERBOSE,
)
# "example" also sits inside real values (`s3cr3t-example-9f2`): on its own it marks a
# placeholder only when nothing random-looking (letters mixed with digits) is left beside it.
_EXAMPLE_RE = re.compile("example", re.IGNORECASE)
_NOT_ALNUM_RE = re.compile(r"[\W_]+")
_PLACEHOLDER_WORDS = frozenset(
    [
        "true",
        "false",
        "null",
        "none",
        "nil",
        "undefined",
        "test",
        "password",
        "secret",
        "token",
        "string",
        "str",
        "bytes",
        "required",
        "optional",
        "inherit",
        # JavaScript `typeof` results: `typeof apiKey === 'function'` compares a type name.
        "function",
        "object",
        "number",
        "boolean",
        "symbol",
        "bigint",
    ]
)
# Shell/compose `$VAR`, `${VAR}`, Jinja/Helm/Actions `{{ }}`, Windows `%VAR%`, `$(cmd)`,
# `<value>`, and Python f-string/format fields (`Pw{n}`): references, not values.
_TEMPLATE_RE = re.compile(
    r"^\$\{?[A-Za-z_][\w.:\-]*\}?$|\{\{.*\}\}|\$\{.*\}|^%[A-Za-z_]\w*%$|^\$\(.*\)$|^<.*>$"
    r"|\{[A-Za-z_][\w.]*(?:\([^)]*\))?(?:\[[^\]]*\])?(?:![rsa])?(?::[^}]*)?\}"
)
# A lookup whose argument is the candidate: the value is the *name* of a variable or
# secret (`os.environ["DB_PASSWORD"]`), not the secret. A literal assigned *to* the
# environment (`os.environ["K"] = "…"`) or given as a default is still reported.
_ENV_BEFORE_RE = re.compile(
    r"(?:os\.environ|getenv|environ\.get|userdata\.get|process\.env|ENV|System\.getenv|get_secret|secrets?\.get|"
    r"keyring\.get_password|dbutils\.secrets\.get|Variable\.get|secretKeyRef|\$\{\{\s*(?:secrets|vars|env))"
    r"\s*[(\[.:]\s*(?:[\w\-]+\s*:\s*|scope\s*=\s*[\"'][^\"']*[\"']\s*,\s*key\s*=\s*)?[\"'`]?$",
    re.IGNORECASE,
)
_DIGEST_CONTEXT_RE = re.compile(
    r"sha(?:1|224|256|384|512)?\b|sha[_-]?\d*[:=]|revision|commit|digest|checksum|integrity|--hash|@sha256:|"
    r"\bhash\b|etag|fingerprint|\bmd5\b|\bref\b|blob|tree|oid\b",
    re.IGNORECASE,
)
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PATH_LIKE_RE = re.compile(r"^(?:[./~]|[A-Za-z]:\\)|/[\w.-]+/|\.(?:py|json|ya?ml|txt|csv|png|jpg|pt|bin|onnx)$")

LOCK_FILE_NAMES = frozenset(
    {
        "uv.lock",
        "poetry.lock",
        "pdm.lock",
        "pipfile.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "cargo.lock",
        "go.sum",
        "composer.lock",
        "gemfile.lock",
        "conda-lock.yml",
        "pylock.toml",
    }
)
TEST_PATH_WORDS = ("test", "tests", "testing", "fixture", "fixtures", "fake", "dummy", "example", "examples", "sample")


def is_lock_file(path: str) -> bool:
    # Called for every file: a string split, not a PurePosixPath (measured 10x cheaper).
    base = path.rsplit("/", 1)[-1]
    name = base.lower()
    return name in LOCK_FILE_NAMES or name.endswith(".lock") or heuristic.is_lock_file(base)


def is_vendored_bundle(path: str) -> bool:
    """Yarn's own release and plugin bundles, committed by `yarn set version`: minified
    third-party code whose keyword hits (`apiKey:"…"` of yarn's public search index,
    `password==="x-oauth-basic"`) are not the repository's secrets."""
    return "/.yarn/releases/" in "/" + path or "/.yarn/plugins/" in "/" + path


def is_placeholder(secret: str) -> bool:
    """Template references, placeholders and redactions: never a real value."""
    s = secret.strip("'\"` ")
    if len(s) < 6:
        return True
    if s.lower() in _PLACEHOLDER_WORDS or _TEMPLATE_RE.search(s) or _PLACEHOLDER_RE.search(s):
        return True
    if _EXAMPLE_RE.search(s):
        rest = _NOT_ALNUM_RE.sub("", _EXAMPLE_RE.sub("", s))
        if len(rest) < 6 or rest.isalpha() or rest.isdigit():
            return True
    # One repeated character (`xxxxxxxx`, `00000000`) or mostly masking characters.
    if len(set(s.lower())) <= 2:
        return True
    return sum(map(s.count, "*#x•")) * 2 > len(s)


def is_env_reference(secret: str, line: str) -> bool:
    idx = line.find(secret)
    return idx > 0 and bool(_ENV_BEFORE_RE.search(line[max(0, idx - 80) : idx]))


def is_digest(secret: str, line: str) -> bool:
    """Hex strings of hash lengths next to hash vocabulary, or `algo:hex` forms."""
    s = secret.split(":", 1)[-1]
    if _HEX_RE.match(s) and len(s) in (32, 40, 56, 64, 96, 128):
        return bool(_DIGEST_CONTEXT_RE.search(line)) or ":" in secret
    return False


def is_uuid(secret: str) -> bool:
    return bool(_UUID_RE.match(secret))


def generic_filter_reason(
    secret: str, line: str, detector_name: str, uuid_ok: bool = False, path: str = ""
) -> str | None:
    """Why a keyword/entropy candidate is not a secret, or None to keep it.

    detect-secrets' own heuristics come first, then ours. `detector_name` is used by
    `is_likely_id_string`, which only applies to non-regex plugins (ours are all
    treated as such here, since this filter only runs for generic detectors).
    `uuid_ok`: the value is keyword-anchored to a provider whose keys are UUIDs."""
    if heuristic.is_sequential_string(secret):
        return "sequential"
    if not uuid_ok and (heuristic.is_potential_uuid(secret) or is_uuid(secret)):
        return "uuid"
    if heuristic.is_templated_secret(secret) or heuristic.is_prefixed_with_dollar_sign(secret):
        return "template"
    if _TEMPLATE_RE.search(secret):
        return "template"
    if _is_call_or_subscript(secret, line):
        return "indirect reference"
    shape = _not_a_literal(secret, line, path)
    if shape is not None:
        return shape
    if heuristic.is_not_alphanumeric_string(secret):
        return "not alphanumeric"
    if _id_context(secret, line):
        return "id"
    if is_placeholder(secret):
        return "placeholder"
    if _PROSE_RE.match(secret):
        return "prose"
    if len(secret) >= 16 and len(set(secret)) == len(secret) and (len(secret) >= 24 or sorted(secret) == list(secret)):
        # Every character distinct: a character set (`"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"`).
        # A random 24+ character key almost never is one; at 16 characters one in seven
        # is, so shorter values count as a character set only when in order.
        return "alphabet"
    if _names_itself(secret, line):
        return "placeholder"
    if is_env_reference(secret, line):
        return "environment lookup"
    if is_digest(secret, line):
        return "digest"
    if _PATH_LIKE_RE.search(secret) and not any(c.isdigit() for c in secret[-8:]):
        return "path"
    name = _names_something(secret, line)
    if name is not None:
        return name
    if _setting_about_the_secret(secret, line):
        return "setting"
    encoded = _encoded_data(secret)
    if encoded is not None:
        return encoded
    return None


_PROSE_RE = re.compile(r"^[A-Za-z][a-z]*(?: [A-Za-z][a-z]*)+[.!?]?$|^[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)+$")


def _names_itself(secret: str, line: str) -> bool:
    """`PRIVATE_KEY = "private_key"`, `'image_pull_secrets': 'imagePullSecrets'`,
    `API_KEY_CONTAINER_SPEC = 'containerSpec'`: the value repeats (part of) the
    name it is assigned to, in whatever case convention."""
    norm = _SEPARATORS_RE.sub("", secret.lower())
    idx = line.find(secret)
    return len(norm) >= 3 and norm in _SEPARATORS_RE.sub("", line[: max(idx, 0)].lower())


_SEPARATORS_RE = re.compile(r"[-_ .]+")
# Source files where a value without quotes is an expression, never a string literal.
_CODE_SUFFIXES = (
    ".go", ".py", ".pyi", ".js", ".cjs", ".mjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".scala",
    ".rs", ".c", ".h", ".cc", ".cpp", ".cs", ".rb", ".php", ".swift",
)  # fmt: skip
# Unquoted: calls, indexing, composite literals, operators and statements (`range x {`, `a + "/"`).
_EXPRESSION_RE = re.compile(r"[()\[\]{};]|\s[-+*/&|!=<>?:]|[!=]=")
# `spec.Template.Spec.Name`, `utils.RAY_AUTH_TOKEN_SECRET_KEY`: a reference to another value.
_DOTTED_NAME_RE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_TRAILING_COMMENT_RE = re.compile(r"\s+#.*$")


def _quote_around(secret: str, line: str) -> str:
    """The quote character enclosing the value in `line`, or '' when it is bare."""
    idx = line.find(secret)
    if idx <= 0:
        return ""
    before = line[idx - 1]
    after = line[idx + len(secret) : idx + len(secret) + 1]
    return before if before in "'\"`" and after == before else ""


def _not_a_literal(secret: str, line: str, path: str) -> str | None:
    """A keyword hit whose value is code, a comparison or a reference, not a literal.

    detect-secrets' Go and YAML patterns accept bare values, so `secretKey :=
    string(secret.Data[k])` or `x.Secrets = other.Secrets` reach us as candidates."""
    idx = line.find(secret)
    if idx > 0 and re.search(r"[!=]==?\s*[\"'`]?$", line[max(0, idx - 6) : idx]):
        # `e.password === "x-oauth-basic"`: a comparison, the value is tested, not stored.
        return "comparison"
    if _quote_around(secret, line):
        return None
    if path.lower().endswith(_CODE_SUFFIXES):
        return "expression"
    value = _TRAILING_COMMENT_RE.sub("", secret)
    if _EXPRESSION_RE.search(value):
        return "expression"
    if _DOTTED_NAME_RE.match(value):
        return "reference"
    return None


# `serving.kserve.io/storageSecretName`, `ray.io/enable-serve-service`: a Kubernetes
# annotation, label or resource key (DNS-style prefix, a slash, a name).
_QUALIFIED_KEY_RE = re.compile(r"^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}/[-\w.]+$")
# `"AZURE_CLIENT_SECRET"`, `"SECRET_VAR"`: the name of an environment variable.
_CONSTANT_NAME_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# `"DBConfig.MySQLConfig.Password"`: a configuration key path.
_CONFIG_PATH_RE = re.compile(r"^[A-Za-z][A-Za-z]*(?:\.[A-Za-z][A-Za-z]*)+$")
# `'list[V1LocalObjectReference]'`: a type name in generated API models.
_TYPE_NAME_RE = re.compile(r"^(?:list|dict|List|Dict|Optional|map)\[[\w., \[\]()]+\]$")
# `ray-head-secret`, `minio-test-secretKeyKey-6`, `THEPASSWORD`: words naming a secret (a
# Kubernetes Secret's name, a key inside it) or a placeholder, with no random part.
_SECRET_WORD_RE = re.compile(r"secret|passw|(?:^|[-_.])pass(?:$|[-_.])|token|credential|apikey", re.IGNORECASE)
# `password1234`, `secret123`: the word itself with a counter, a stand-in for a value.
_WORD_AND_DIGITS_RE = re.compile(r"^(?:password|passwd|secret|pass|admin|changeit)\d*$", re.IGNORECASE)
# `storage-config` assigned to `DefaultStorageSpecSecret`: the name of a Kubernetes Secret
# (lower-case words and hyphens), given where the code refers to that object.
_RESOURCE_NAME_RE = re.compile(r"^[a-z]+(?:-[a-z]+)+$")
_NAMED_BY_SECRET_RE = re.compile(r"secrets?[\"'`]?\s*(?::=|=|:)\s*[\"'`]?$", re.IGNORECASE)
_WORDY_NAME_RE = re.compile(r"^[A-Za-z]+\d{0,2}(?:[-_.](?:[A-Za-z]+\d{0,2}|\d{1,3}))+$")


def _names_something(secret: str, line: str = "") -> str | None:
    """Values that are names (of keys, variables, types, secrets), not credentials."""
    value = _TRAILING_COMMENT_RE.sub("", secret)
    if _WORD_AND_DIGITS_RE.match(value):
        return "placeholder"
    if _RESOURCE_NAME_RE.match(value):
        idx = line.find(secret)
        if idx > 0 and _NAMED_BY_SECRET_RE.search(line[max(0, idx - 40) : idx]):
            return "secret name"
    if _QUALIFIED_KEY_RE.match(value):
        return "key name"
    if _CONSTANT_NAME_RE.match(value):
        return "variable name"
    if _CONFIG_PATH_RE.match(value):
        return "config key"
    if _TYPE_NAME_RE.match(value):
        return "type name"
    if _SECRET_WORD_RE.search(value) and (_WORDY_NAME_RE.match(value) or value.isalpha()):
        return "secret name"
    return None


def _encoded_data(secret: str) -> str | None:
    """Base64 of data that is not a credential: gzip archives (`H4sI…`) embedded by
    build tools, and PEM certificates (public by design; their keys are reported
    by the private-key rule)."""
    if secret.startswith("H4sI"):
        return "compressed data"
    if secret.startswith("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t") or "-----BEGIN CERTIFICATE-----" in secret:
        return "certificate"
    return None


def _is_call_or_subscript(secret: str, line: str) -> bool:
    """`x = get_secret(...)` / `x = headers[...]`: the value is a name being called
    or indexed. detect-secrets' is_indirect_reference drops whole lines that merely
    contain a call, which would hide `Client(api_key="...")`, so this looks only at
    what follows the candidate."""
    idx = line.find(secret)
    return idx >= 0 and line[idx + len(secret) : idx + len(secret) + 1] in ("(", "[")


# `user_id = …`, and names that hold a reference to a secret rather than the secret:
# `secretName:` (Kubernetes), `password_file`, `tokenRef`, `secret_arn`, `key_path`,
# `secretFieldSelector:`, `RayHeadSecretPrefix =`, `storageSecretNameAnnotation:`.
_ID_BEFORE_RE = re.compile(
    r"(?:(?:^|[^a-z0-9])(?:id|myid|userid|[a-z0-9]*_id)"
    r"|(?:name|ref|file|path|dir|arn|type|env|var|kind|selector|prefix|annotation|label))s?[^a-z0-9]*$",
    re.IGNORECASE,
)


def _id_context(secret: str, line: str) -> bool:
    """Same idea as detect-secrets' is_likely_id_string, bounded to the text right
    before the value (its version scans the whole prefix, which is slow on long lines)."""
    idx = line.find(secret)
    if idx <= 0:
        return False
    before = line[max(0, idx - 40) : idx].rstrip("'\"` :=\t")
    return bool(_ID_BEFORE_RE.search(before + " "))


def is_test_path(path: str) -> bool:
    parts = re.split(r"[/._\-]", path.lower())
    return any(p in TEST_PATH_WORDS for p in parts)


def lower_for_test_path(severity: Severity, path: str) -> Severity:
    """Test/fixture/example paths lower the severity one step; they never hide it:
    a real key committed to a test file is as usable as any other."""
    if is_test_path(path) and severity > Severity.LOW:
        return Severity(severity - 1)
    return severity


# `password_encryption = scram-sha-256` (postgresql.conf), `password_hash_algorithm: bcrypt`: the key
# names a setting about the secret (how it is hashed, checked or stored), and its value is a
# scheme or a number, not the secret.
_SETTING_WORDS = frozenset(
    {
        "encryption", "algorithm", "algo", "scheme", "method", "policy", "length", "format", "cipher",
        "mode", "digest", "kdf", "rounds", "iterations", "expiry", "expiration", "lifetime", "ttl",
        "timeout", "strength", "complexity", "encoding", "hasher", "hashing",
    }
)  # fmt: skip
_KEY_BEFORE_RE = re.compile(r"([A-Za-z_][\w.-]*)[\"']?\s*(?::=|=|:)\s*[\"'`]?$")


def _setting_about_the_secret(secret: str, line: str) -> bool:
    at = line.find(secret)
    if at <= 0:
        return False
    m = _KEY_BEFORE_RE.search(line[:at])
    if m is None:
        return False
    words = [w for w in _SEPARATORS_RE.split(m.group(1).lower()) if w]
    return len(words) >= 2 and words[-1] in _SETTING_WORDS and _SECRET_WORD_RE.search(m.group(1)) is not None
