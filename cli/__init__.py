"""The sendflow command line and the demo it runs."""
