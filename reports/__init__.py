"""Ledgers, periodic reports and the files they are delivered as."""
