"""Export the trained Keras members as the one ONNX graph the app serves (digits.inference).

The graph averages the members' probabilities (an ensemble of independently trained CNNs), and
has two more outputs: the first member's first convolution block, for "What the network sees",
and the members' pooled features, the embedding a visitor's memory compares drawings on.
Its metadata records the sha256 of every Keras file it came from. Needs TensorFlow, tf2onnx
and onnx (requirements-train.txt); run by train.py, never by the server.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from digits.inference import FEATURES_OUT, FIRST_LAYER, INPUT, PROBABILITIES, file_sha256
from digits.training.network import load_model


def export_onnx(member_paths: list[Path], out: Path) -> None:
    """Write `out` (.onnx) from the Keras members, atomically."""
    import keras
    import numpy as np
    from keras import layers

    members = [load_model(p) for p in member_paths]
    for i, m in enumerate(members):
        m.name = f"member_{i}"  # unique names inside one graph
    image = keras.Input((28, 28, 1), name=INPUT)
    outputs = [m(image) for m in members]
    probabilities = layers.Average()(outputs) if len(outputs) > 1 else outputs[0]
    first = next(layer for layer in members[0].layers if isinstance(layer, layers.Activation))
    first_block = keras.Model(members[0].inputs, first.output, name="first_block")
    # The members' pooled features side by side: the embedding a visitor's memory compares
    # drawings on (digits.memory).
    pooled = [keras.Model(m.inputs, next(layer for layer in m.layers
                                         if isinstance(layer, layers.GlobalAveragePooling2D)).output,
                          name=f"pooled_{i}")(image) for i, m in enumerate(members)]
    features = layers.Concatenate(name="features")(pooled) if len(pooled) > 1 else pooled[0]
    graph = keras.Model(image, [probabilities, first_block(image), features], name="digits_ensemble")
    graph(np.zeros((1, 28, 28, 1), np.float32))  # Keras' ONNX export needs one call first

    meta = {"keras_sha256": json.dumps({Path(p).name: file_sha256(p) for p in member_paths}),
            "classes": "0,1,2,3,4,5,6,7,8,9,not a digit"}
    write_onnx(graph, out, [PROBABILITIES, FIRST_LAYER, FEATURES_OUT], meta)


def write_onnx(graph, out: Path, output_names: list[str], metadata: dict[str, str]) -> None:
    """A called Keras model -> `out` (.onnx), atomically, its outputs named (tf2onnx calls them
    Identity:0, Identity_1:0, ...) so the server asks for them by name, with `metadata`."""
    import onnx

    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=out.parent)
    os.close(fd)
    try:
        graph.export(tmp, format="onnx", verbose=False)
        proto = onnx.load(tmp)
        renames = dict(zip([o.name for o in proto.graph.output], output_names))
        for node in proto.graph.node:  # an output can also feed later nodes
            node.input[:] = [renames.get(n, n) for n in node.input]
            node.output[:] = [renames.get(n, n) for n in node.output]
        for o in proto.graph.output:
            o.name = renames[o.name]
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
