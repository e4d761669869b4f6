"""A partial index of the magical moments with a note, for the dashboard's praise quotes

Revision ID: 9b3d5f7a1c20
Revises: 8a4c2e6f1b90
Create Date: 2026-12-06 02:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9b3d5f7a1c20'
down_revision = '8a4c2e6f1b90'
branch_labels = None
depends_on = None

# The same words as auditapp.evaluations.models.MAGICAL_NOTE (a migration keeps its own copy).
MAGICAL_NOTE = "verdict = 'magical' AND note IS NOT NULL AND note <> ''"


def upgrade():
    # The praise quotes are the latest notes of magical moments: without this index the query reads the note of
    # every moment result (a million rows at 100k evaluations) to keep the few that have one.
    op.create_index('ix_moment_result_magical_notes', 'moment_result', ['evaluation_id'], unique=False,
                    sqlite_where=sa.text(MAGICAL_NOTE), postgresql_where=sa.text(MAGICAL_NOTE))


def downgrade():
    op.drop_index('ix_moment_result_magical_notes', table_name='moment_result')
