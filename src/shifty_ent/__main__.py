"""Entry point for ``python -m shifty_ent``."""

from shifty_ent.cli import main

if __name__ == "__main__":
    main()
