"""tuikanban: a keyboard-driven terminal Kanban board for sales pipelines."""

__version__ = "0.1.0"
