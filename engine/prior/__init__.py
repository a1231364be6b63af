"""Deep image prior: restoring one picture with an untrained network."""
