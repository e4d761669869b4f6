"""corrective actions: an owner who is a user, a definition of done, the checklist item, evidence and history

Revision ID: 5e1f3b7a9c20
Revises: 020b749f0e89
Create Date: 2026-12-10 09:00:00.000000

Existing action plans become corrective actions: "in_progress" becomes "open" ("done" and "dropped" stay); the
free-text owner becomes the owner when it names (or is the e-mail of) one active admin, manager, regional or
location manager of the organisation, and is kept as a note otherwise. Each old action gets a "created" event.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f3b7a9c20'
down_revision = '020b749f0e89'
branch_labels = None
depends_on = None

OWNER_ROLES = ('admin', 'manager', 'regional_manager', 'location_manager')


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.alter_column('owner', new_column_name='owner_note', existing_type=sa.String(length=200),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('question_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('evaluation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('definition_of_done', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('done_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('overdue_announced_for', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_action_owner_id_user'), 'user', ['owner_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_action_evaluation_id_evaluation'), 'evaluation', ['evaluation_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_action_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_action_org_id_status', ['org_id', 'status'], unique=False)
    # The model has no server default (the services always set it); drop the one that filled the old rows.
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.alter_column('definition_of_done', server_default=None, existing_type=sa.Text(),
                              existing_nullable=False)

    op.create_table('action_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_action_event_action_id_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_action_event_photo_id_photo'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_action_event_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_event'))
    )
    with op.batch_alter_table('action_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_event_action_id'), ['action_id'], unique=False)

    _convert_rows()


def _convert_rows():
    conn = op.get_bind()
    action = sa.table('action', sa.column('id', sa.Integer), sa.column('org_id', sa.Integer),
                      sa.column('status', sa.String), sa.column('owner_note', sa.String),
                      sa.column('owner_id', sa.Integer), sa.column('created_by_id', sa.Integer),
                      sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime),
                      sa.column('done_at', sa.DateTime))
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('name', sa.String),
                    sa.column('email', sa.String), sa.column('active', sa.Boolean))
    membership = sa.table('membership', sa.column('user_id', sa.Integer), sa.column('org_id', sa.Integer),
                          sa.column('role', sa.String))
    event = sa.table('action_event', sa.column('action_id', sa.Integer), sa.column('user_id', sa.Integer),
                     sa.column('at', sa.DateTime), sa.column('kind', sa.String), sa.column('from_status', sa.String),
                     sa.column('to_status', sa.String), sa.column('note', sa.String))

    conn.execute(action.update().where(action.c.status == 'in_progress').values(status='open'))
    conn.execute(action.update().where(action.c.status == 'done').values(done_at=action.c.updated_at))

    members: dict[int, list[tuple[int, str, str]]] = {}
    for user_id, org_id, name, email in conn.execute(
            sa.select(membership.c.user_id, membership.c.org_id, user.c.name, user.c.email)
            .join(user, user.c.id == membership.c.user_id)
            .where(membership.c.role.in_(OWNER_ROLES), user.c.active == sa.true())):
        members.setdefault(org_id, []).append((user_id, (name or '').strip().lower(), (email or '').strip().lower()))

    rows = conn.execute(sa.select(action.c.id, action.c.org_id, action.c.status, action.c.owner_note,
                                  action.c.created_by_id, action.c.created_at)).all()
    for action_id, org_id, status, note, created_by, created_at in rows:
        text = (note or '').strip().lower()
        matches = {uid for uid, name, email in members.get(org_id, []) if text and text in (name, email)}
        if len(matches) == 1:  # two people of the same name: keep the text, a manager chooses
            conn.execute(action.update().where(action.c.id == action_id)
                         .values(owner_id=matches.pop(), owner_note=''))
        conn.execute(event.insert().values(action_id=action_id, user_id=created_by, at=created_at, kind='created',
                                           from_status='', to_status=status, note=''))


def downgrade():
    conn = op.get_bind()
    action = sa.table('action', sa.column('status', sa.String), sa.column('owner_note', sa.String),
                      sa.column('owner_id', sa.Integer))
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('name', sa.String))
    # Back to free text: the owner's name where there is an owner; "verified" was "done" before.
    conn.execute(action.update().where(action.c.owner_id.is_not(None))
                 .values(owner_note=sa.select(sa.func.substr(user.c.name, 1, 200)).where(user.c.id == action.c.owner_id)
                         .scalar_subquery()))
    conn.execute(action.update().where(action.c.status == 'verified').values(status='done'))

    with op.batch_alter_table('action_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_event_action_id'))
    op.drop_table('action_event')

    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_org_id_status')
        batch_op.drop_index(batch_op.f('ix_action_owner_id'))
        batch_op.drop_constraint(batch_op.f('fk_action_evaluation_id_evaluation'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_action_owner_id_user'), type_='foreignkey')
        batch_op.drop_column('overdue_announced_for')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('done_at')
        batch_op.drop_column('owner_id')
        batch_op.drop_column('definition_of_done')
        batch_op.drop_column('evaluation_id')
        batch_op.drop_column('question_key')
        batch_op.alter_column('owner_note', new_column_name='owner', existing_type=sa.String(length=200),
                              existing_nullable=False)
