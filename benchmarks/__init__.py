"""Benchmarks of the smsoffice integration (not part of the test run).

Each module runs on its own from the repository root, for example
``.venv/bin/python -m benchmarks.webhook_burst``, and prints a ratio against a
baseline measured in the same run as its last line. See ``README.md``.
"""
