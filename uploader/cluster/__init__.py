"""Several machines, one PostgreSQL: scheduled imports and uploads run by `leadup worker`s.

A face above the run (beside the CLI, below it): procrastinate queues the work (periodic
ticks deferred once cluster-wide, credential locks, stalled-worker detection), PostgreSQL
holds the claims of inbox files and every upload's journal, fenced by a run attempt. Needs
the optional extra `leadup[cluster]`; nothing else in leadup imports it at start-up.
"""
