"""Operations over the WARC files and the catalogue together: verify, reindex, reextract,
export, recover."""
