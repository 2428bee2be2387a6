"""Training: optimizers, learning-rate schedules and ``run(cfg)``."""
