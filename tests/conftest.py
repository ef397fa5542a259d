"""Root conftest: being inside the ``tests`` package, it makes pytest put the repository root on
``sys.path`` (rootdir-based import), so every test module can ``from tests.support... import ...``."""
