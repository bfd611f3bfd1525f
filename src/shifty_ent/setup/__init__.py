"""Setup commands: init, config, db, tenant and user."""
