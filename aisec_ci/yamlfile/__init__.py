"""YAML files read the one bounded way: `stream` composes documents under a
document cap and an alias-expansion budget; `values` turns them into dicts and
lists that remember their lines. Every YAML reader of aisec-ci goes through here."""
