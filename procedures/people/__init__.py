"""People: users, their roles and languages, and the invitations through which they join."""
