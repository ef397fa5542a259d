"""Helpers shared by the test packages (model builders); import as ``tests.support.<module>``."""

__all__: list[str] = []
