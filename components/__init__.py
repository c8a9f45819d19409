"""Pulumi components of a hardened Phoenix platform, and the validated spec they take."""
