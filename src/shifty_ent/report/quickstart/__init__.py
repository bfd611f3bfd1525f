"""``shifty-ent quickstart``: a guided tour of the whole tool on a sandbox tenant.

``cli.py`` is the command, ``sandbox.py`` builds the sandbox directory and its sample files,
``runner.py`` runs commands in-process with a moving fake clock, ``script.py`` is the tour itself.
"""
