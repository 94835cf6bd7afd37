"""Two steps `torch.onnx.export` puts into every attention layer that change nothing for our inputs.

The exported scaled-dot-product attention (all-MiniLM-L6-v2, 6 layers) does, per layer:

- its own copy of the additive attention mask, a `Where` over the same boolean mask with the same
  two constants: the same tensor six times, (batch, 1, tokens, tokens) each;
- a NaN guard after the softmax, `Where(IsNaN(p), 0, p)`: a row is NaN only when every key of
  it is masked, and every text we encode has at least its [CLS] and [SEP] tokens unmasked.

`lean` computes the mask once and drops the guards, so the session runs fewer passes over the
attention scores. The vectors are the same to the last bit (tests/test_parallel_encode.py); on a
build's texts the int8 encode took ~4-8% less CPU (docs/performance.md, "Embedding stage:
parallel batches"). Both rewrites are checked node by node, so a model exported differently is
left as it is rather than changed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

#: Bump when `lean` changes: it names the files sessions run (`*.lean-vN.onnx`).
LEAN_VERSION = 1


def lean(source: Path, target: Path) -> int:
    """Write `source` without duplicate constant `Where`s and softmax NaN guards to `target`.

    Returns how many nodes went (0 for a graph without either pattern: `target` is then a copy).
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    nodes = list(model.graph.node)
    outputs = {o.name for o in model.graph.output}
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in nodes
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value"
    }
    constants.update({init.name: numpy_helper.to_array(init) for init in model.graph.initializer})

    def rewire(old: str, new: str) -> None:
        for user in consumers.pop(old, []):
            user.input[:] = [new if name == old else name for name in user.input]
            consumers[new].append(user)

    drop: set[int] = set()
    first_mask: dict[tuple[str, ...], str] = {}
    for i, node in enumerate(nodes):
        if node.output[0] in outputs:
            continue
        if node.op_type == "IsNaN" and len(consumers[node.output[0]]) == 1:
            guard = consumers[node.output[0]][0]
            zero = constants.get(guard.input[1]) if guard.op_type == "Where" else None
            guards = list(guard.input[::2]) == [node.output[0], node.input[0]] and guard.output[0] not in outputs
            if guards and zero is not None and not zero.any():
                rewire(guard.output[0], node.input[0])
                drop.update({i, nodes.index(guard)})
        elif node.op_type == "Where" and all(name in constants for name in node.input[1:]):
            key = (node.input[0], *(_identity(constants[name]) for name in node.input[1:]))
            if key in first_mask:
                rewire(node.output[0], first_mask[key])
                drop.add(i)
            else:
                first_mask[key] = node.output[0]
    del model.graph.node[:]
    model.graph.node.extend(node for i, node in enumerate(nodes) if i not in drop)
    tmp = target.with_suffix(".partial.onnx")
    onnx.save(model, str(tmp))
    os.replace(tmp, target)
    return len(drop)


def _identity(value: np.ndarray) -> str:
    """A constant's type, shape and bytes: equal for constants that are the same tensor."""
    return f"{value.dtype.str}{value.shape}{value.tobytes().hex()}"
