"""The analyzer benchmark (`make bench-analyzer`, ``python -m bench.analyzer``).

* :mod:`bench.analyzer.benchmark`: options, the run on a private stack, the docs block;
* :mod:`bench.analyzer.frames`: the cameras' JPEG frames, prepared before any timing;
* :mod:`bench.analyzer.onnx_model`: the random-weight ONNX model of the ultralytics shape;
* :mod:`bench.analyzer.detectors`: the two backends under test, loaded once;
* :mod:`bench.analyzer.bare`: the bare backend loop (decode + detect);
* :mod:`bench.analyzer.pipeline`: the frames through ``vigil:frames`` and the real pipeline;
* :mod:`bench.analyzer.claude`: Claude calls and tokens per camera-hour, when measurable;
* :mod:`bench.analyzer.report`: the summary (ratios, target) and the docs block.
"""
