"""P3, the vendors' service: the rectification ladder, monthly scores and the half-year
assessment."""
