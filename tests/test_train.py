"""nnbook.train (fit, evaluate, EarlyStopping) and nnbook.regularization (Chapter 7's split,
model and stored dropout × weight-decay grid)."""

import math

import pytest
import torch
from torch import nn

from nnbook import regularization as reg
from nnbook.train import EarlyStopping, History, evaluate, fit


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 5, generator=g)
    y = (x[:, 0] > 0).long()
    return x, y


def test_fit_equals_the_five_line_loop():
    x, y = _problem()
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    b = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    b.load_state_dict(a.state_dict())
    loss_fn = nn.CrossEntropyLoss()
    batches = [(x[:20], y[:20]), (x[20:], y[20:])]
    history = fit(a, loss_fn, torch.optim.SGD(a.parameters(), lr=0.1), batches, epochs=3)
    opt = torch.optim.SGD(b.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(b(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        losses.append(total / 40)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    assert history.train_loss == pytest.approx(losses)
    assert history.val_loss == [] and history.stopped_epoch == 3 and not a.training


def test_evaluate_weights_batches_by_size_restores_the_mode_and_skips_accuracy_for_regression():
    x, y = _problem()
    model = nn.Sequential(nn.Linear(5, 2), nn.Dropout(0.5)).train()
    loss_fn = nn.CrossEntropyLoss()
    whole = evaluate(model, loss_fn, [(x, y)])
    parts = evaluate(model, loss_fn, [(x[:10], y[:10]), (x[10:], y[10:])])
    assert whole == pytest.approx(parts) and model.training
    with torch.no_grad():
        model.eval()
        expected = (model(x).argmax(dim=1) == y).float().mean().item()
    assert whole[1] == pytest.approx(expected)
    mse_loss, accuracy = evaluate(nn.Linear(5, 1), nn.MSELoss(), [(x, y.float().unsqueeze(1))])
    assert mse_loss > 0 and math.isnan(accuracy)
    with pytest.raises(ValueError, match="no examples"):
        evaluate(model, loss_fn, [])


def test_early_stopping_counts_patience_and_restores_the_best_state():
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert not stopper.step(1.0, model)          # best
    with torch.no_grad():
        model.weight.fill_(2.0)
    assert not stopper.step(0.95, model)         # better by less than min_delta: no improvement
    assert stopper.step(0.5, model) is False     # improvement resets the count
    assert stopper.best_epoch == 3
    with torch.no_grad():
        model.weight.fill_(3.0)
    assert not stopper.step(0.6, model)
    assert stopper.step(0.7, model)              # two epochs without improvement: stop
    stopper.restore(model)
    assert model.weight.item() == 2.0
    with pytest.raises(ValueError):
        EarlyStopping(patience=0)
    with pytest.raises(RuntimeError):
        EarlyStopping().restore(model)


def test_fit_with_early_stopping_stops_after_patience_and_keeps_the_best_epoch():
    x, y = _problem()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 64), nn.ReLU(), nn.Linear(64, 2))
    # validation labels that disagree with training: the validation loss soon rises
    stopper = EarlyStopping(patience=3)
    history = fit(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.05),
                  [(x[:20], y[:20])], [(x[20:], 1 - y[20:])], epochs=100, early_stopping=stopper)
    best = min(history.val_loss)
    assert history.best_epoch == history.val_loss.index(best) + 1
    assert history.stopped_epoch == history.best_epoch + 3 < 100
    assert evaluate(model, nn.CrossEntropyLoss(), [(x[20:], 1 - y[20:])])[0] == pytest.approx(best)
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            [(x, y)], early_stopping=EarlyStopping())


def test_history_defaults_are_empty():
    h = History()
    assert h.train_loss == h.val_loss == h.val_accuracy == [] and h.best_epoch is None


def test_digits_split_sizes_and_disjointness():
    (xt, yt), (xv, yv), (xs, ys) = reg.digits_split()
    assert (len(xt), len(xv), len(xs)) == reg.SPLIT_SIZES == (100, 500, 1197)
    assert xt.min() == 0 and xt.max() == 1
    rows = torch.cat([xt, xv, xs])
    assert len(rows) == 1797
    (xt2, _), _, _ = reg.digits_split()
    assert torch.equal(xt, xt2)                                        # seeded
    assert reg.digits_mlp(0.5)[2].p == 0.5
    assert sum(p.numel() for p in reg.digits_mlp().parameters()) == 85_002


def test_the_stored_grid_has_every_run_and_one_run_regenerates_it():
    runs = reg.load_grid()
    assert set(runs) == {(p, wd) for p in reg.DROPOUT_RATES for wd in reg.WEIGHT_DECAYS}
    for run in runs.values():
        assert run["epoch"] == list(range(reg.EVERY, reg.EPOCHS + 1, reg.EVERY))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # as tools/make_regularization_grid.py runs
    try:
        fresh = reg.dropout_weight_decay_run(0.2, 1.0, seed=1)
    finally:
        torch.set_num_threads(threads)
    stored = runs[(0.2, 1.0)]
    for key in ("val_loss", "val_accuracy"):                     # seed 1 is the second stored seed
        torch.testing.assert_close(torch.tensor(fresh[key]), torch.tensor(stored[key + "_by_seed"][1]),
                                   rtol=1e-4, atol=1e-4)
        # the stored curve is the mean of the seeds' curves
        torch.testing.assert_close(torch.tensor(stored[key]),
                                   torch.tensor(stored[key + "_by_seed"]).mean(dim=0),
                                   rtol=0, atol=2e-6)


def test_seed_average_averages_curves_and_keeps_each_seed():
    a = {"epoch": [5, 10], "train_loss": [1.0, 0.5], "val_loss": [2.0, 1.0], "val_accuracy": [0.5, 0.6]}
    b = {"epoch": [5, 10], "train_loss": [3.0, 0.5], "val_loss": [1.0, 2.0], "val_accuracy": [0.7, 0.8]}
    run = reg.seed_average([a, b])
    assert run["train_loss"] == [2.0, 0.5] and run["val_loss"] == [1.5, 1.5]
    assert run["val_loss_by_seed"] == [[2.0, 1.0], [1.0, 2.0]]
    assert run["val_accuracy_by_seed"] == [[0.5, 0.6], [0.7, 0.8]]


def test_the_grid_uses_adamw_decoupled_decay():
    """The chapter calls the grid's λ AdamW's decoupled weight decay: the run must use AdamW."""
    import inspect
    assert "torch.optim.AdamW(" in inspect.getsource(reg.dropout_weight_decay_run)


def test_grid_json_round_trips(tmp_path):
    grid = {(0.0, 0.0): {"epoch": [5], "train_loss": [0.1234567], "val_loss": [0.5],
                         "val_accuracy": [0.75], "val_loss_by_seed": [[0.4999999], [0.5]]}}
    path = tmp_path / "grid.json"
    path.write_text(reg.grid_to_json(grid))
    assert reg.load_grid(path) == {(0.0, 0.0): {"epoch": [5], "train_loss": [0.123457],
                                                "val_loss": [0.5], "val_accuracy": [0.75],
                                                "val_loss_by_seed": [[0.5], [0.5]]}}


def test_the_stored_grid_supports_the_chapters_conclusions():
    """Chapter 7's claims about the grid: λ = 3 stops the late climb, dropout moves the lowest
    point later; with what EarlyStopping(patience=20) keeps, the lowest mean validation loss is
    p = 0.5 with λ = 1, weight decay alone helps only at λ = 3, no setting gains more than 0.67
    points of validation accuracy over early stopping alone, and stopping on the loss keeps a
    less accurate epoch than epoch 200 (87.07% against 87.87%)."""
    runs = reg.load_grid()

    def kept(p, wd):
        run = runs[(p, wd)]
        return (sum(run["kept_val_loss_by_seed"]) / 3, sum(run["kept_val_accuracy_by_seed"]) / 3)

    plain, strong = runs[(0.0, 0.0)], runs[(0.0, 3.0)]
    assert strong["val_loss"][-1] - min(strong["val_loss"]) < 0.005
    assert plain["val_loss"][-1] - min(plain["val_loss"]) > 0.05
    dropout = runs[(0.5, 0.0)]
    assert (dropout["epoch"][dropout["val_loss"].index(min(dropout["val_loss"]))]
            > plain["epoch"][plain["val_loss"].index(min(plain["val_loss"]))])
    best = {key: kept(*key) for key in runs}
    assert min(best, key=lambda key: best[key][0]) == (0.5, 1.0)
    assert round(best[(0.0, 0.3)][0], 3) == round(best[(0.0, 1.0)][0], 3) == round(best[(0.0, 0.0)][0], 3)
    assert best[(0.0, 3.0)][0] < best[(0.0, 0.0)][0] - 0.015
    assert round(100 * (max(acc for _, acc in best.values()) - best[(0.0, 0.0)][1]), 2) == 0.67
    assert round(best[(0.0, 0.0)][1], 4) == 0.8707 and round(plain["val_accuracy"][-1], 4) == 0.8787
    assert max(r["val_accuracy"][-1] for r in runs.values()) == plain["val_accuracy"][-1]


def test_the_grids_early_stopping_record_is_what_early_stopping_keeps():
    """The stored kept epoch and loss are EarlyStopping(PATIENCE) replayed on every epoch."""
    run = reg.dropout_weight_decay_run(0.0, 0.0, epochs=40, every=1, seed=0, patience=3)
    k = run["val_loss"].index(min(run["val_loss"][:run["stopped_epoch"] or 40]))
    assert run["kept_epoch"] == k + 1 and run["kept_val_loss"] == run["val_loss"][k]
    assert run["kept_val_accuracy"] == run["val_accuracy"][k]
    if run["stopped_epoch"] is not None:
        assert run["stopped_epoch"] == run["kept_epoch"] + 3
    # the chapter's fit(..., early_stopping=EarlyStopping(20)) keeps epoch 57 and stops at 77
    stored = reg.load_grid()[(0.0, 0.0)]
    assert stored["kept_epoch_by_seed"][0] == 57 and stored["stopped_epoch_by_seed"][0] == 77



# --- the full fit: scheduler, device, progress bar, live curves, Keras-like history ---

def _classifier(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


def test_fit_records_training_accuracy_and_the_rate_of_each_epoch_and_steps_the_scheduler():
    x, y = _problem()
    model = _classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, [(x, y)], epochs=5,
                  scheduler=scheduler, progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)   # after five steps
    # full batch: the training accuracy of epoch 2 is the accuracy of the weights after epoch 1
    again = _classifier()
    opt = torch.optim.SGD(again.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()(again(x), y)
    loss.backward()
    opt.step()
    with torch.no_grad():
        expected = (again(x).argmax(dim=1) == y).float().mean().item()
    assert history.train_accuracy[1] == pytest.approx(expected)
    assert history.epochs == [1, 2, 3, 4, 5]
    keras = history.history
    assert set(keras) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert keras["loss"] is history.train_loss and keras["val_loss"] == []


def test_fit_gives_reduce_on_plateau_the_validation_loss():
    x, y = _problem()
    model = _classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    class Recording(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, *args, **kwargs):
            seen.append(float(metrics))
            return super().step(metrics, *args, **kwargs)

    history = fit(model, nn.CrossEntropyLoss(), optimizer, [(x, y)], [(x, y)], epochs=3,
                  scheduler=Recording(optimizer), progress=False)
    assert seen == history.val_loss
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, nn.CrossEntropyLoss(), optimizer, [(x, y)], epochs=1,
            scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer))


def test_fit_regression_has_nan_accuracy():
    x, _ = _problem()
    target = x[:, :1] * 2
    model = nn.Linear(5, 1)
    history = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), [(x, target)],
                  [(x, target)], epochs=2, progress=False)
    assert all(math.isnan(a) for a in history.train_accuracy + history.val_accuracy)
    assert history.train_loss[1] < history.train_loss[0]


def test_fit_is_deterministic_under_a_seed_with_a_shuffling_loader():
    from torch.utils.data import DataLoader, TensorDataset

    import nnbook

    x, y = _problem()

    def run():
        nnbook.seed_everything(3)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
        history = fit(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01),
                      loader, [(x, y)], epochs=3, progress=False)
        return history, model

    (h1, m1), (h2, m2) = run(), run()
    assert h1 == h2
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_fit_refuses_a_model_on_another_device_with_the_fix_in_the_message():
    x, y = _problem()
    model = _classifier()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"model.to\(device\)"):
        fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], epochs=1, device="meta", progress=False)
    history = fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], [(x, y)], epochs=1,
                  device=torch.device("cpu"), progress=False)
    assert len(history.val_loss) == 1
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], epochs=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_matches_cpu():
    x, y = _problem()
    cpu, gpu = _classifier(), _classifier()
    gpu.to("cuda")
    loaders = [(x, y)]
    h_cpu = fit(cpu, nn.CrossEntropyLoss(), torch.optim.SGD(cpu.parameters(), lr=0.1), loaders,
                loaders, epochs=3, progress=False)
    h_gpu = fit(gpu, nn.CrossEntropyLoss(), torch.optim.SGD(gpu.parameters(), lr=0.1), loaders,
                loaders, epochs=3, device="cuda", progress=False)
    assert h_gpu.train_loss == pytest.approx(h_cpu.train_loss, rel=1e-4)
    assert h_gpu.val_accuracy == pytest.approx(h_cpu.val_accuracy)
    assert next(gpu.parameters()).is_cuda


def test_the_progress_bar_stays_out_of_stored_outputs_and_shows_otherwise(monkeypatch, capsys):
    x, y = _problem()
    model = _classifier()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monkeypatch.setenv("NNBOOK_STATIC_FRAMES", "1")
    fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], epochs=2)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("NNBOOK_STATIC_FRAMES", "0")
    fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], [(x, y)], epochs=2)
    err = capsys.readouterr().err
    assert "training" in err and "2/2" in err and "val_accuracy" in err
    fit(model, nn.CrossEntropyLoss(), opt, [(x, y)], epochs=2, progress=False)
    assert capsys.readouterr().err == ""


class _Handle:
    def __init__(self, log):
        self.log = log

    def update(self, figure):
        self.log.append(("update", figure))


def _fake_kernel(monkeypatch, log):
    import IPython.display

    from nnbook.widgets import live

    monkeypatch.setattr(live, "in_kernel", lambda: True)

    def display(figure, display_id=False):
        log.append(("display", figure))
        return _Handle(log)

    monkeypatch.setattr(IPython.display, "display", display)


@pytest.mark.parametrize("storing, shown", [("0", 4), ("1", 1)])
def test_live_curves_redraw_each_epoch_live_and_once_while_outputs_are_stored(monkeypatch, storing,
                                                                              shown):
    from matplotlib.figure import Figure

    x, y = _problem()
    model = _classifier()
    log = []
    _fake_kernel(monkeypatch, log)
    monkeypatch.setenv("NNBOOK_STATIC_FRAMES", storing)
    fit(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), [(x, y)],
        [(x, y)], epochs=3, progress=False, live=True)
    # live: one display, then an update per later epoch and one at the end; stored: one display
    assert len(log) == shown and log[0][0] == "display"
    assert all(kind == "update" for kind, _ in log[1:])
    assert all(isinstance(figure, Figure) for _, figure in log)


def test_live_curves_do_nothing_outside_a_kernel():
    x, y = _problem()
    model = _classifier()
    fit(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), [(x, y)],
        epochs=1, progress=False, live=True)      # no IPython kernel here: no error, no output
