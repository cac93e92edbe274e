"""Artifact templates, rendering and validation with real linters; never imports mcp."""
