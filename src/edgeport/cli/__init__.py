"""Command-line interface (Typer + Rich). Thin: parse -> call the Python API -> render."""
