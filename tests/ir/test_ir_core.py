"""The IR core: users lists kept right by edits, bypass keeps output names, topological sort."""

import numpy as np
import pytest

from edgeport.ir import Graph, physical_shape


def _chain():
    g = Graph()
    x = g.add_value("x", (1, 3, 4, 4), np.float32)
    g.inputs.append(x)
    a = g.add_node("Relu", [x], 1, name="a")
    b = g.add_node("Identity", [a.outputs[0]], [g.add_value("y", (1, 3, 4, 4), np.float32)], name="b")
    g.outputs.append(b.outputs[0])
    return g, x, a, b


def test_users_follow_edits():
    g, x, a, b = _chain()
    assert x.users == [a] and a.outputs[0].users == [b]
    c = g.const(np.ones(3, np.float32))
    a.set_input(0, c)
    assert x.users == [] and c.users == [a]
    g.replace_all_uses(c, x)
    assert x.users == [a] and c.users == []


def test_bypass_keeps_graph_output_name():
    g, x, a, b = _chain()
    g.bypass(b)
    assert [n.op_type for n in g.nodes] == ["Relu"]
    assert g.outputs[0].name == "y" and g.outputs[0].producer is a
    assert "y" in g.values and g.values["y"] is a.outputs[0]


def test_sort_and_cycle():
    g, x, a, b = _chain()
    g.nodes.reverse()
    g.sort()
    assert [n.name for n in g.nodes] == ["a", "b"]
    a.set_input(0, b.outputs[0])
    with pytest.raises(ValueError, match="cycle"):
        g.sort()


def test_unique_names_and_physical_shape():
    g = Graph()
    v1, v2 = g.add_value("t"), g.add_value("t")
    assert v1.name != v2.name
    assert physical_shape((1, 3, 8, 9), "NHWC") == (1, 8, 9, 3)
    assert physical_shape((2, 5), "NHWC") == (2, 5)
