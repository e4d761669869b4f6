"""at most one draft version per journey

Revision ID: 7c2d9e4a1b3f
Revises: 88107c69fc40
Create Date: 2026-11-24 10:00:00

A partial unique index on journey_version(journey_id) WHERE status = 'draft' (SQLite and PostgreSQL both have
partial indexes). Before it is made, a journey that somehow has several drafts keeps its newest one (the one the
builder shows); the older ones become 'retired' rather than being deleted, so nothing is lost. Drafts are never
answered, so no evaluation points at them.
"""
from alembic import op
import sqlalchemy as sa


revision = '7c2d9e4a1b3f'
down_revision = '88107c69fc40'
branch_labels = None
depends_on = None

WHERE = sa.text("status = 'draft'")


def upgrade():
    op.execute(
        "UPDATE journey_version SET status = 'retired' WHERE status = 'draft' AND EXISTS ("
        "SELECT 1 FROM journey_version AS newer WHERE newer.journey_id = journey_version.journey_id "
        "AND newer.status = 'draft' AND newer.number > journey_version.number)"
    )
    with op.batch_alter_table('journey_version', schema=None) as batch_op:
        batch_op.create_index('uq_journey_version_one_draft', ['journey_id'], unique=True, sqlite_where=WHERE,
                              postgresql_where=WHERE)


def downgrade():
    with op.batch_alter_table('journey_version', schema=None) as batch_op:
        batch_op.drop_index('uq_journey_version_one_draft', sqlite_where=WHERE, postgresql_where=WHERE)
