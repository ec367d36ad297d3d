"""paper signatures: entries recorded by clerks (with their corrections), counts per area, settled paper totals

Revision ID: petitions_paper_signatures
Revises: petitions_initial
Create Date: 2026-12-07 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision = 'petitions_paper_signatures'
down_revision = 'petitions_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper_signature_count', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('petition_area_count', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper', sa.Integer(), server_default='0', nullable=False))
    op.create_table('petition_paper_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('clerk_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clerk_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['corrects_id'], ['petition_paper_entry.id'], ),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce')
    )
    with op.batch_alter_table('petition_paper_entry', schema=None) as batch_op:
        batch_op.create_index('ix_paper_entry_petition', ['petition_id', 'id'], unique=False)
        batch_op.create_index('ix_paper_entry_created', ['created_at'], unique=False)
    op.create_table('petition_paper_count',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['petition_paper_entry.id'], ),
    sa.PrimaryKeyConstraint('entry_id', 'area')
    )


def downgrade() -> None:
    op.drop_table('petition_paper_count')
    with op.batch_alter_table('petition_paper_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_paper_entry_created')
        batch_op.drop_index('ix_paper_entry_petition')
    op.drop_table('petition_paper_entry')
    with op.batch_alter_table('petition_area_count', schema=None) as batch_op:
        batch_op.drop_column('paper')
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_column('paper_signature_count')
