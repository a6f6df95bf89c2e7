"""The schemas are the documentation: docs/schema.md must be what they render to."""

from __future__ import annotations

from schemas.docgen import render
from schemas.tables import TABLES
from tests.conftest import ROOT


def test_docs_schema_md_is_generated_from_the_schemas():
    assert (ROOT / "docs" / "schema.md").read_text(encoding="utf-8") == render(), "run `make docs`"


def test_every_column_documents_its_unit_and_meaning_and_instants_are_utc():
    for name, schema in TABLES.items():
        for field in schema:
            assert field.metadata and field.metadata.get(b"doc"), (name, field.name)
            if str(field.type).startswith("timestamp") and field.name != "start_time_local":
                assert field.type.tz == "UTC", (name, field.name)
        assert "utc_offset_s" in schema.names, name
