"""Alembic environment: runs against the app's own engine and metadata (no Flask-SQLAlchemy)."""
from alembic import context
from flask import current_app


config = context.config
database = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=database.metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=str(database.engine.url), target_metadata=database.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
