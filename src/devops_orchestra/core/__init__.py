"""What every part shares: the file inventory, processes, the run store, the scan cache, tool locations,
paths, logs and errors."""
