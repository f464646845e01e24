"""The pipeline's stages, one concern each; `engine.engine` states their order."""
