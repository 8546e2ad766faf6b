"""The engine: the scheduler (stages in order), the stage runner (one task), progress, and the executor interface."""
