"""Reports for auditors and the audit chain check."""
