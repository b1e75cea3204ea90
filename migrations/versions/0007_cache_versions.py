"""cache versions: counters that per-process caches check on every request (accounts, sites, keys, passes)

Revision ID: 0007_cache_versions
Revises: 0006_web_sign_in
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_cache_versions'
down_revision = '0006_web_sign_in'
branch_labels = None
depends_on = None

NAMES = ("accounts_version", "sites_version", "keys_version", "passes_version")


def upgrade():
    counters = sa.table("counters", sa.column("name"), sa.column("value"))
    op.bulk_insert(counters, [dict(name=name, value=0) for name in NAMES])


def downgrade():
    counters = sa.table("counters", sa.column("name"))
    op.execute(counters.delete().where(counters.c.name.in_(NAMES)))
