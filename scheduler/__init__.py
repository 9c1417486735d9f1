"""APScheduler set-up and its jobs: deadline sweeps and periodic runs."""
