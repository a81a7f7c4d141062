"""The format reference pages in docs/ are generated from the schemas and must be current."""

from pathlib import Path

from edgescale.model.schema_doc import pages

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_format_pages_are_current() -> None:
    for name, text in pages().items():
        assert (DOCS / name).read_text() == text, (
            f"docs/{name} is stale: run `python -m edgescale.model.schema_doc docs/`"
        )
