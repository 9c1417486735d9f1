"""The delivery runtime: updates in one transaction each, the outbox out, files and documents."""
