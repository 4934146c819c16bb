"""nnbook.summary: output shapes and parameter counts agree with hand counts, and the model is
left as it was."""

import pytest
import torch
import torch.nn as nn

from nnbook.summary import summary


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))


def test_an_mlp_with_batchnorm_and_dropout_matches_the_hand_count():
    result = summary(_mlp(), (20,), batch_size=8)
    # weights + biases: 20*64 + 64, BatchNorm's scale and shift 2*64, 64*32 + 32, 32*4 + 4
    assert [layer.params for layer in result.layers] == [1344, 128, 0, 0, 2080, 0, 132]
    assert result.total_params == result.trainable_params == 1344 + 128 + 2080 + 132 == 3684
    assert [layer.output_shape for layer in result.layers] == [
        [8, 64], [8, 64], [8, 64], [8, 64], [8, 32], [8, 32], [8, 4]]
    assert [layer.kind for layer in result.layers] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]
    table = str(result)
    assert "1 (BatchNorm1d)" in table and "Total params: 3,684" in table
    assert "Non-trainable params: 0" in table and repr(result) == table


def test_the_model_its_running_statistics_and_its_training_flags_are_left_as_they_were():
    model = _mlp()
    model[3].eval()                                         # a mixed state must come back mixed
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    summary(model, (20,))                                   # a batch of one: fine in eval mode
    assert [m.training for m in model.modules()] == flags
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)   # running mean and count too
    assert not model._forward_hooks and not any(m._forward_hooks for m in model.modules())


def test_frozen_parameters_count_as_non_trainable():
    model = _mlp()
    model[0].requires_grad_(False)
    result = summary(model, 20)
    assert result.total_params == 3684 and result.trainable_params == 3684 - 1344
    assert "Non-trainable params: 1,344" in str(result)


class _Twice(nn.Module):
    """A nested model that uses one layer twice and has a parameter of its own."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.body(self.body(x)) * self.scale, x.sum(1)


def test_a_reused_layer_is_listed_per_call_but_counted_once():
    result = summary(_Twice(), (4,), batch_size=3)
    names = [layer.name for layer in result.layers]
    assert names == ["body.0", "body.1", "body.0", "body.1", ""]
    assert [layer.params for layer in result.layers] == [20, 0, 0, 0, 1]
    assert result.total_params == 21
    assert result.layers[-1].output_shape == [[3, 4], [3]]        # two outputs, two shapes
    assert str(result).splitlines()[6].startswith("_Twice ")


def test_a_model_of_integer_inputs_gets_a_batch_of_the_dtype_asked_for():
    embed = nn.Sequential(nn.Embedding(10, 3), nn.Flatten(), nn.Linear(15, 2))
    result = summary(embed, (5,), dtype=torch.long)
    assert result.layers[1].output_shape == [1, 15] and result.total_params == 30 + 32


def test_torchinfo_s_totals_agree_when_it_is_installed():
    torchinfo = pytest.importorskip("torchinfo")
    theirs = torchinfo.summary(_mlp(), input_size=(8, 20), verbose=0)
    assert (theirs.total_params, theirs.trainable_params) == (3684, 3684)
