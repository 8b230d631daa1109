"""The Textual board. Only this package imports Textual."""
