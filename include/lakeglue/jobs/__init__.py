"""The job framework: bronze → silver → gold transforms declared in the pipeline spec.

Engine-neutral pieces (metrics, batch ids, versioned commits, catalog registration,
quarantine layout) live here; ``jobs.spark`` runs the transforms on PySpark.
"""
