"""handover events: the recording device's client_event_id, so a step queued offline is recorded once

Revision ID: 0009_handover_event_ids
Revises: 0008_health_test_person_key
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_handover_event_ids'
down_revision = '0008_health_test_person_key'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('handover_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_event_id', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_handover_events_handover_client_event_id', ['handover_id', 'client_event_id'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('handover_events', schema=None) as batch_op:
        batch_op.drop_index('ix_handover_events_handover_client_event_id')
        batch_op.drop_column('client_event_id')
