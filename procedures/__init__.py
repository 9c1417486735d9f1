"""The after-sales procedures as code: state transitions, deadlines, who is told what."""
