"""Neural style transfer: Gatys optimisation on VGG19, instant arbitrary style, sweeps, examples."""
