"""Developer tooling that sits above the command line: generators of the checked-in completion
scripts and command reference. They walk the whole command tree (``shifty_ent.cli``), so they
cannot live in the kernel (``shifty_ent.core``), which imports no group and not the CLI."""
