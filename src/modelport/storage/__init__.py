"""Object storage and the machine's cache of what it holds.

- :mod:`.objects`: ``s3://`` URIs through fsspec's s3fs (any S3-compatible service);
- :mod:`.cache`: ``$MODELPORT_CACHE_DIR``, and local copies of remote packages, fetched once
  per machine (the resolver of ``s3://`` model URIs).

Nothing here imports s3fs until an ``s3://`` URI is used.
"""
