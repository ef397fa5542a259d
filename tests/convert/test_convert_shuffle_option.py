"""`fold_shuffle` / `--keep-channel-shuffle`: the two lowerings of ShuffleNet's channel shuffles."""

from pathlib import Path

import onnx.backend.test
import pytest

from edgeport.cli.app import main
from edgeport.convert import convert

SHUFFLENET = Path(onnx.backend.test.__file__).parent / "data/light/light_shufflenet.onnx"


@pytest.mark.skipif(not SHUFFLENET.is_file(), reason="the onnx wheel ships no light_shufflenet")
@pytest.mark.parametrize("fold, transposes", [(True, 0), (False, 16)])
def test_shufflenet_transposes_follow_the_option(tmp_path, fold, transposes):
    rep = convert(SHUFFLENET, tmp_path / "s.tflite", fold_shuffle=fold)
    assert rep.transposes_source == 16
    assert rep.transposes_result == transposes
    assert rep.verification.passed


@pytest.mark.skipif(not SHUFFLENET.is_file(), reason="the onnx wheel ships no light_shufflenet")
def test_cli_keep_channel_shuffle(tmp_path, capsys):
    assert main(["convert", str(SHUFFLENET), "-o", str(tmp_path / "s.tflite"), "--keep-channel-shuffle",
                 "--no-verify", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["transposes_result"] == 16
