"""Detector backends, one module each; see :mod:`vigil_analyzer.detectors.base`."""
