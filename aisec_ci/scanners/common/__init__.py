"""Code the infrastructure scanners share (kubernetes and cloud): the finding
context of an object file and the ML-server command analysis. Not a scanner
(no SCANNER): the registry passes it by, and it imports neither scanner."""
