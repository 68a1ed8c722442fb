"""The result cache (`--cache DIR`): an unchanged file is never scanned twice.

- `identity`: which aisec-ci wrote the cache (version and a digest of its files);
- `store`: the cache file (SQLite), validated on open, checksummed per entry;
- `codec`: outputs to bytes and back, exactly;
- `inputs`: what a result depends on (contents, settings, files scanners read beside);
- `session`: one scan's lookups and writes.

The cache is an optimisation only: reports with and without it are identical, and a
cache that cannot be trusted is dropped with a note and rebuilt.
"""

from aisec_ci.cache.session import CachedRun, CacheSession, CacheStats

__all__ = ["CacheSession", "CacheStats", "CachedRun"]
