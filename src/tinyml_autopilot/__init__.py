"""tinyml-autopilot: from raw sensor data to verified microcontroller firmware."""

__version__ = "0.1.0"
