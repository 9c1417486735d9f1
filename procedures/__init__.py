"""The after-sales procedures as code: state transitions, deadlines, who is told what.

The convention every use case follows (file_complaint, record_verification, record_patrol...):

1. It takes the unit of work (and the acting user and the input); `now` comes from the unit of
   work's clock, never from the wall.
2. It checks: the actor's role, the record's state (under a row lock where a stale screen could
   race), the input. A failed check raises a domain error (NotAllowed, WrongState, InvalidInput,
   NotFound) and changes nothing.
3. It changes the records, appends to each changed record's timeline (timeline.record_change)
   and writes the outbox rows for whoever must be told, with dedupe keys built from the subject
   and the step, never from the time.
4. It commits once.
5. It returns an outcome carrying everything the handler needs for its reply, so the handler
   renders it without a second query.

Jobs of the scheduler are the same minus the actor: they take the session and `now`, and the
job commits. No module here imports Telegram or holds message text: messages are catalogue keys
with parameters.
"""
