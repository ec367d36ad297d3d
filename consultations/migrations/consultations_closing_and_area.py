"""closing_and_area: when a consultation closed and a response was first published (write-once), and the
areas participants give

Revision ID: consultations_closing_and_area
Revises: consultations_initial
Create Date: 2026-12-07 05:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision = 'consultations_closing_and_area'
down_revision = 'consultations_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Consultations closed before this column existed: their closing date is the best record of when they closed
    # (closing early sets it to that moment; the close job closes at it).
    op.execute("UPDATE consultation SET closed_at = closes_at "
               "WHERE state IN ('closed', 'reported') AND closed_at IS NULL")
    with op.batch_alter_table('consultation_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Published before the column existed: created_at is the nearest record (most responses publish at once).
    op.execute("UPDATE consultation_response SET published_at = created_at "
               "WHERE status = 'published' AND published_at IS NULL")
    op.create_table('consultation_participant_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'user_id', name='uq_consultation_participant_area')
    )
    with op.batch_alter_table('consultation_participant_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_participant_area_consultation_id'), ['consultation_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consultation_participant_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_participant_area_consultation_id'))
    op.drop_table('consultation_participant_area')
    with op.batch_alter_table('consultation_response', schema=None) as batch_op:
        batch_op.drop_column('published_at')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
