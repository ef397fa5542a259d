"""edgeport's test suite (a package so that ``tests.support`` and ``tests.compress`` import the same way
whether pytest is started as ``pytest`` or ``python -m pytest``, from any folder)."""
