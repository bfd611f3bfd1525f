"""Detached signatures for report files."""
