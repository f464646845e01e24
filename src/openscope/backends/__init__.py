"""Model runtimes behind one narrow interface (see `base.Backend`)."""
