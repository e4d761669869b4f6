"""Import every model so SQLAlchemy and Alembic know all tables."""
from .auth.models import (  # noqa: F401
    ROLES,
    ApiToken,
    AuditLog,
    Invite,
    Membership,
    MembershipLocation,
    MembershipRegion,
    Organisation,
    User,
)
from .disputes.models import Dispute, DisputeMessage  # noqa: F401
from .evaluations.models import (  # noqa: F401
    Answer,
    Evaluation,
    EvaluationEvent,
    EvaluationFlag,
    MomentResult,
    ParkedForm,
    Photo,
)
from .exports.models import ExportJob  # noqa: F401
from .journeys.models import Journey, JourneyVersion, Moment, Question  # noqa: F401
from .locations.models import Location  # noqa: F401
from .notify.models import NotificationOptOut, OutboxMessage  # noqa: F401
from .results.models import Action, ActionEvent  # noqa: F401
from .schedules.models import ScheduleRun, ScorecardSchedule  # noqa: F401
from .visits.models import Assignment, NoteFingerprint  # noqa: F401
from .webhooks.models import Webhook, WebhookDelivery  # noqa: F401
