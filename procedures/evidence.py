"""Which record a number names, for its evidence files (/files), if the asker may read it.

A record's files are shown to exactly those who may open the record itself: each kind is asked
through its own queries' `…_for_viewer`, so the reader sets stay in each type's rules.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.queries import complaint_for_viewer
from procedures.consumer_complaints.queries import consumer_complaint_for_viewer
from procedures.equipment.defects import defect_for_viewer
from procedures.kernel import photos
from procedures.kernel.errors import NotAllowed, NotFound
from procedures.returns.queries import return_for_viewer
from procedures.vendors.queries import rectification_for_viewer
from storage.models import User

ForViewer = Callable[[AsyncSession, User, str], Awaitable[Any]]

# subject type -> the function that returns the record to a viewer who may read it
READERS: dict[str, ForViewer] = {
    "complaint": complaint_for_viewer,
    "return": return_for_viewer,
    "consumer_complaint": consumer_complaint_for_viewer,
    "defect": defect_for_viewer,
    "rectification": rectification_for_viewer,
}


async def readable_record(
    session: AsyncSession, viewer: User, number: str
) -> tuple[str, int] | None:
    """(subject type, id) of the record numbered `number` if `viewer` may read it; None when
    there is no such record or it is not the viewer's to read (both answered alike, so a number
    tells nothing of a record one may not see)."""
    found = await photos.find_numbered(session, number)
    if found is None:
        return None
    subject_type, _ = found
    for_viewer = READERS.get(subject_type)
    if for_viewer is None:  # a numbered kind nobody has said who reads: nobody does
        return None
    try:
        await for_viewer(session, viewer, number.strip().upper())
    except (NotFound, NotAllowed):
        return None
    return found
