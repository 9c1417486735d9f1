"""What every record type uses: clock, unit of work, errors, outbox, the deadline engine, timeline,
calendar, role names, numbering, text checks, evidence files and the button base class."""
