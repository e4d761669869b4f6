"""Indexes for filtered reports: moment results covered by evaluation, visits by location and date, review lists

Revision ID: 5e1f0b7a9c24
Revises: 5e1f3b7a9c20
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e1f0b7a9c24'
down_revision = '5e1f3b7a9c20'
branch_labels = None
depends_on = None


def upgrade():
    # Every aggregation joins a period's evaluations to their moment results: with the figures in the index, the
    # join reads the index alone (SQLite: COVERING INDEX; PostgreSQL: Index Only Scan once vacuumed).
    with op.batch_alter_table('moment_result', schema=None) as batch_op:
        batch_op.create_index('ix_moment_result_evaluation_scores',
                              ['evaluation_id', 'moment_key', 'score', 'verdict', 'critical_fail', 'duration_seconds'],
                              unique=False)
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        # One location's scorecard over a period (the per-location sheets, a location filter).
        batch_op.create_index('ix_evaluation_journey_location_started', ['journey_id', 'location_id', 'started_at'],
                              unique=False)
        # The review list and its pages, newest submission first.
        batch_op.create_index('ix_evaluation_org_submitted', ['org_id', 'submitted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_org_submitted')
        batch_op.drop_index('ix_evaluation_journey_location_started')
    with op.batch_alter_table('moment_result', schema=None) as batch_op:
        batch_op.drop_index('ix_moment_result_evaluation_scores')
