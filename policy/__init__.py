"""Phoenix Platform policy pack: CrossGuard policies and a manifest scanner over the same checks."""
