"""web sign-in: user names and passwords on accounts, server-side web sessions, sign-in failures

Revision ID: 0006_web_sign_in
Revises: 0005_firm_contact_phone

Accounts may now hold a user name and password instead of (or beside) a token, so token_hash becomes
nullable. Existing firm accounts are their firm's only account: they become its managers.
"""
from alembic import op
import sqlalchemy as sa

import core.db

revision = '0006_web_sign_in'
down_revision = '0005_firm_contact_phone'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column('username', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('password_hash', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('firm_role', sa.Enum('manager', 'clerk', name='firmrole', native_enum=False,
                                                           length=32), nullable=True))
        batch_op.add_column(sa.Column('totp_secret_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('sessions_valid_after', core.db.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_username'), ['username'])
    accounts = sa.table('accounts', sa.column('role', sa.String()), sa.column('firm_role', sa.String()))
    op.execute(accounts.update().where(accounts.c.role == 'firm').values(firm_role='manager'))

    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('second_factor_ok', sa.Boolean(), nullable=False),
    sa.Column('second_factor_failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_web_sessions_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', core.db.UTCDateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_failures_username_at', ['username', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_username_at')
        batch_op.drop_index('ix_sign_in_failures_address_at')
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_account_id'))
    op.drop_table('web_sessions')
    # Every account had a token then: those that only sign in get a value no token hashes to.
    accounts = sa.table('accounts', sa.column('id', sa.Integer()), sa.column('token_hash', sa.String()))
    op.execute(accounts.update().where(accounts.c.token_hash.is_(None)).values(
        token_hash=sa.literal('no-token-') + sa.cast(accounts.c.id, sa.String())))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_accounts_username'), type_='unique')
        batch_op.drop_column('sessions_valid_after')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret_enc')
        batch_op.drop_column('firm_role')
        batch_op.drop_column('password_hash')
        batch_op.drop_column('username')
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
