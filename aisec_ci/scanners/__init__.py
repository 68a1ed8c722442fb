"""Scanners: one subpackage each, exposing `SCANNER` (see base.Scanner)."""
