"""Data lifecycle: retention, certified deletion, workspaces, sweep and GDPR export."""
