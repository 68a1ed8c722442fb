"""Configuration: `.aisec.yml` (`model`), its shipped JSON Schema and the validating `loader`.

Nothing is imported here: the loader pulls in YAML and JSON Schema libraries,
which a scan without a config file never needs.
"""
