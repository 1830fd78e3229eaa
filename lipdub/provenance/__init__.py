"""Provenance: C2PA manifest, invisible watermark and tags on every dub; ``lipdub verify``."""
