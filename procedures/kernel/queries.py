"""Reading what every record type keeps: the records of deadlines, timeline events and evidence
files, named here for the readers that show them."""

from __future__ import annotations

from storage.models import Deadline as Deadline
from storage.models import Photo as Photo
from storage.models import TimelineEvent as TimelineEvent
