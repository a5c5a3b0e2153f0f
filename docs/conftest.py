"""The docs pages' ``>>>`` examples run as doctests (pytest --doctest-glob='*.rst'); conf.py is
Sphinx's, not a test module."""

collect_ignore = ["conf.py", "_build", "notebooks"]
