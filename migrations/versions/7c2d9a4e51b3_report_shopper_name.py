"""organisation.report_shopper_name: how visit reports name the shopper

Revision ID: 7c2d9a4e51b3
Revises: cc4110ca48d7
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2d9a4e51b3'
down_revision = 'cc4110ca48d7'
branch_labels = None
depends_on = None


def upgrade():
    # Existing organisations get "code": a pseudonymous code per shopper, the safer of the two choices.
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_shopper_name', sa.String(length=16), server_default='code', nullable=False))


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('report_shopper_name')
