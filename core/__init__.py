"""What both processes, the bot and the scheduler, share: configuration, logging, services."""
