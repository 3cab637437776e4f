"""Runs as jobs on a durable queue (procrastinate on the checkpoints' PostgreSQL).

``app.py`` builds the procrastinate app and its tables, ``tasks.py`` holds the job kinds (start,
approve, reject, resume, stop: JSON arguments only, executed through ``fixloop.runs``),
``client.py`` enqueues them and waits for their outcome, ``recovery.py`` re-enqueues runs whose
driver is gone and retries the jobs of dead workers, ``worker.py`` is ``fixloop worker``.
"""
