"""P3, the equipment: daily patrols, defects and their repair, periodic inspections, the vendors'
contracts and maintenance visits, and each system's staff."""
