"""health tests keep the person key encrypted, so a rotation of the index key can recompute their hash

Revision ID: 0008_health_test_person_key
Revises: 0007_cache_versions
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_health_test_person_key'
down_revision = '0007_cache_versions'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: results recorded before this revision have none; `flask pii rotate-key` fills it from a
    # white-list entry with the same hash, and reports the results it cannot (docs/deploy.md, section 9).
    with op.batch_alter_table('health_tests') as batch_op:
        batch_op.add_column(sa.Column('person_key_enc', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('health_tests') as batch_op:
        batch_op.drop_column('person_key_enc')
