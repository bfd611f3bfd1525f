"""The shared kernel: configuration, store, tenancy, audit, signing, output and errors."""
