"""Training command line, corpus preparation and the shipped models' configs."""
