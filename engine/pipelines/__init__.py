"""What a person's input goes through on its way to a model and back, owned by the engine so
that every surface (live canvas, editor, CLI, eval, Space, bench) gives the same pixels."""
