"""SolaX Cloud."""
