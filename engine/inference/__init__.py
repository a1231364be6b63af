"""Using trained models: one loader for every checkpoint, the registry of bundled models, and
what each kind of model serves (image-to-image predictors, latent models), plus translate and
evaluate helpers."""
