"""GPU Provisioner: per-tenant GPU instances on vast.ai."""
