"""Files on disk: checkpoints (safetensors, atomic writes) and the run directory that holds them."""
