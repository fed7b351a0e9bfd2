"""Lightning modules, data modules, run directories and checkpoints."""
