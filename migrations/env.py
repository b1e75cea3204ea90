"""Alembic environment: runs against the app's own engine and metadata (no Flask-SQLAlchemy)."""
from alembic import context
from flask import current_app


config = context.config
database = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename), and a table other rows refer to cannot be
            # dropped while foreign keys are enforced. The pragma only works outside a transaction, so it is
            # set first (on the driver connection: our "begin" hook would wrap it in BEGIN), every reference is
            # checked before the commit, and enforcement comes back after.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=database.metadata,
                              render_as_batch=sqlite, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"the migration leaves broken references: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()  # nothing is left to roll back after a commit; after a failure, all of it
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    context.configure(url=str(database.engine.url), target_metadata=database.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
