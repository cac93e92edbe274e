"""Our own checkov checks, loaded with `checkov --external-checks-dir policies/checkov` (see README.md)."""
