"""Names vulture cannot see being used; read by tests/app/test_app_code_health.py (never imported).

Each entry is an attribute access, which vulture counts as a use of every definition with that name.
Names used only by templates need no entry: the test collects them from the Jinja templates itself.
Add a name here only when something outside Python's call graph uses it, and say what.
"""
_ = None

# --- Alembic reads these from every migration script, and calls include_object(..., reflected, compare_to)
_.down_revision
_.branch_labels
_.depends_on
_.downgrade
_.reflected
_.compare_to

# --- SQLAlchemy: event listeners registered by decorator; a DBAPI connection attribute
_._on_connect  # app/db.py: @event.listens_for(engine, "connect")
_._on_begin  # app/db.py: @event.listens_for(engine, "begin")
_.isolation_level  # app/db.py: set on the sqlite3 connection

# --- Python and library protocols
_.__getattr__  # moderation/analysis/__init__.py: lazy module attributes (PEP 562)
_.classes_  # moderation/classifier: scikit-learn's fitted-estimator attributes
_.n_features_in_
_.create_served_app  # app/main.py: uvicorn factory, named as the string "app.main:create_served_app"
_.fmt  # app/templating.py: the |datetime("short") / |date(...) argument templates pass (accepted, ignored)

# --- Values stored in the database: columns written for the record or for operators, enum values
# parsed from forms (Decision(value)) rather than named in code
_.last_sign_in_at  # app.models.User
_.blocked_reason  # app.models.User
_.used_at  # app.models.UsedToken
_.edited_by  # consultations.models.CommentEdit
_.creator_name  # petitions.models.Petition
_.validated_at  # petitions.models.Signature
_.withdrawn_at  # petitions.models.Signature
_.screened_at  # moderation.models.ModerationItem
_.decided_by  # moderation.models.ModerationCase
_.ACCEPTED  # petitions.models.ResponseDecision
_.PARTLY_ACCEPTED
_.UNDER_REVIEW

# --- Fields of returned records that complete the record though no caller reads them yet
_.tn  # moderation.queries.QualityRow: the fourth cell of the confusion matrix
_.already  # petitions.service.ConfirmResult: the signature was confirmed before
_.score_route  # petitions.queries.QueueItem: the screening's route beside its score
_.k_requested  # moderation.analysis.themes.ThemeResult: the k asked for (None = automatic)
_.decision_ids  # moderation.service.DecisionResult
_.visible  # moderation.facade.Verdict

# --- Used by the tests: helpers and values they check
_.required_roles  # app/auth.py: recorded on staff endpoints; tests/app/test_app_staff_routes.py lists them
_.run_until_idle  # app/jobs.py: drain the job queue in-process (tests/app/test_app_jobs.py)
_.retried  # app/mail.py: DeliveryReport.retried (tests/app/test_app_mail.py)
_.to_csv  # app/csv_export.py (tests/app/test_app_csv.py)
_.submit_blocking  # petitions/writes.py (tests/petitions/test_petitions_crash.py)
_.pipeline_logits  # moderation/classifier/model.py: the reference the fast path is checked against
_.logit  # moderation.classifier.model.Analysis (tests/moderation/classifier/test_classifier_model.py)
_.group_agree_share  # moderation.analysis.opinions.RepresentativeStatement
_.other_agree_share

# --- Owned by another change (issue 14): the unused `moderation_settings` parameter of the facade
_.moderation_settings  # moderation/facade.py
