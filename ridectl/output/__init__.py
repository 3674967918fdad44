"""Rendering: how results are shown (tables for people, JSON/NDJSON/CSV for scripts)."""
