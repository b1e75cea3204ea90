from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from core.area_table import Area
from core.audit import AuditHead
from core.db import Base


def test_the_migrations_create_exactly_the_schema_the_models_describe(app):
    with app.extensions["db"].engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_the_migrations_load_the_reference_areas_and_the_audit_genesis(session):
    assert session.scalar(select(func.count()).select_from(Area)) == 89
    assert session.get(Area, "440304").name_en == "Futian District"
    assert session.get(AuditHead, 1).seq == 0
