"""Where closed WARC files are kept beyond this machine: an object store (S3), or a folder."""
