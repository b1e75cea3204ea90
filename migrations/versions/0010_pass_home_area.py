"""passes: the stored home area (the smallest area holding the whole scope) and the indexes of the
regulators' queue, and the index the pass charts read by (approved_at)

Revision ID: 0010_pass_home_area
Revises: 0009_handover_event_ids
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_pass_home_area'
down_revision = '0009_handover_event_ids'
branch_labels = None
depends_on = None

CITY_CODE = '440300'

# passes.rules.home_area over each pass's scope rows, in SQL both databases run: the city when the scope
# names it or spans several districts (a street's district is its code's first six digits), the street of
# a one-street scope, else the one district; NULL for a pass without scope rows.
_DISTRICT = "CASE WHEN length(area_code) = 9 THEN substr(area_code, 1, 6) ELSE area_code END"
BACKFILL = f"""
UPDATE passes SET home_area_code = (
    SELECT CASE
        WHEN count(*) = 0 THEN NULL
        WHEN sum(CASE WHEN area_code = '{CITY_CODE}' THEN 1 ELSE 0 END) > 0
             OR count(DISTINCT {_DISTRICT}) > 1 THEN '{CITY_CODE}'
        WHEN count(*) = 1 THEN min(area_code)
        ELSE min({_DISTRICT})
    END
    FROM pass_areas WHERE pass_areas.pass_id = passes.id)
"""


def upgrade():
    with op.batch_alter_table('passes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_area_code', sa.String(length=12), nullable=True))
        batch_op.create_index(batch_op.f('ix_passes_home_area_code'), ['home_area_code'], unique=False)
        batch_op.create_index('ix_passes_queue', ['status', 'home_area_code', 'created_at', 'category', 'firm_id'],
                              unique=False)
        batch_op.create_index('ix_passes_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_passes_approved_at'), ['approved_at'], unique=False)
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('passes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passes_approved_at'))
        batch_op.drop_index('ix_passes_status_created_at')
        batch_op.drop_index('ix_passes_queue')
        batch_op.drop_index(batch_op.f('ix_passes_home_area_code'))
        batch_op.drop_column('home_area_code')
