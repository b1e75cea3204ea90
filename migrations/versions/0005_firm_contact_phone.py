"""firm contact phones encrypted and masked, like people's phones

Revision ID: 0005_firm_contact_phone
Revises: 0004_relay_yards

Reads the personal-data key the same way the app does (current_app.extensions["pii"], built by
create_app from GREENLANE_DATA_KEY), so `flask db upgrade` and the tests encrypt with the running key.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from whitelist.identifiers import mask_phone

revision = '0005_firm_contact_phone'
down_revision = '0004_relay_yards'
branch_labels = None
depends_on = None

PURPOSE = "contact_phone"  # whitelist.services.firm_fields binds the same purpose


def _firms(columns):
    return sa.table('firms', sa.column('id', sa.Integer()), *columns)


def upgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_phone_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('contact_phone_masked', sa.String(length=32), nullable=True))
    cipher, bind = current_app.extensions["pii"], op.get_bind()
    firms = _firms([sa.column('contact_phone', sa.String()), sa.column('contact_phone_enc', sa.LargeBinary()),
                    sa.column('contact_phone_masked', sa.String())])
    for firm_id, phone in bind.execute(sa.select(firms.c.id, firms.c.contact_phone)).all():
        bind.execute(firms.update().where(firms.c.id == firm_id).values(
            contact_phone_enc=cipher.encrypt(phone, purpose=PURPOSE), contact_phone_masked=mask_phone(phone)))
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.alter_column('contact_phone_enc', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column('contact_phone_masked', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column('contact_phone')


def downgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
    cipher, bind = current_app.extensions["pii"], op.get_bind()
    firms = _firms([sa.column('contact_phone', sa.String()), sa.column('contact_phone_enc', sa.LargeBinary())])
    for firm_id, blob in bind.execute(sa.select(firms.c.id, firms.c.contact_phone_enc)).all():
        bind.execute(firms.update().where(firms.c.id == firm_id).values(
            contact_phone=cipher.decrypt(blob, purpose=PURPOSE)))
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.alter_column('contact_phone', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column('contact_phone_masked')
        batch_op.drop_column('contact_phone_enc')
