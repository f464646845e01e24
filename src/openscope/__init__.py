"""openscope: Model Studio's model APIs over models you host."""

__version__ = "0.1.0"
