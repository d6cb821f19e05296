"""AUC, Precision/Recall, F-scores, MeanIoU, RMSE and loss-named metrics against NumPy; add_variable metrics."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, losses, metrics, ops

RNG = np.random.default_rng(11)
LABELS = RNG.integers(0, 2, size=40).astype(np.float64)
SCORES = np.clip(LABELS * 0.3 + RNG.uniform(size=40) * 0.7, 0, 1)
WEIGHTS = RNG.uniform(0.5, 2.0, size=40)


def _counts(t, p, thresholds, w):
    tp = np.array([np.sum(w * ((t > 0) & (p > th))) for th in thresholds])
    fp = np.array([np.sum(w * ((t == 0) & (p > th))) for th in thresholds])
    tn = np.array([np.sum(w * ((t == 0) & (p <= th))) for th in thresholds])
    fn = np.array([np.sum(w * ((t > 0) & (p <= th))) for th in thresholds])
    return tp, fp, tn, fn


def _div(a, b):
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def test_auc_matches_the_keras_documentation_example():
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.thresholds == [-1e-7, 0.5, 1 + 1e-7] and m.result() == pytest.approx(0.75)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result() == pytest.approx(1.0)


@pytest.mark.parametrize("curve, summation", [("ROC", "interpolation"), ("ROC", "minoring"), ("PR", "majoring"),
                                              ("PR", "interpolation")])
def test_auc_matches_a_numpy_transcription(curve, summation):
    thresholds = np.array([-1e-7] + [(i + 1) / 199 for i in range(198)] + [1 + 1e-7])
    tp, fp, tn, fn = _counts(LABELS, SCORES, thresholds, WEIGHTS)
    if curve == "PR" and summation == "interpolation":
        dtp, p = tp[:-1] - tp[1:], tp + fp
        slope = _div(dtp, np.maximum(p[:-1] - p[1:], 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _div(p[:-1], p[1:]), 1.0)
        expected = np.sum(_div(slope * (dtp + intercept * np.log(ratio)), tp[1:] + fn[1:]))
    else:
        recall = _div(tp, tp + fn)
        x, y = (_div(fp, fp + tn), recall) if curve == "ROC" else (recall, _div(tp, tp + fp))
        h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
             "majoring": np.maximum(y[:-1], y[1:])}[summation]
        expected = np.sum((x[:-1] - x[1:]) * h)
    m = metrics.AUC(curve=curve, summation_method=summation)
    for chunk in np.array_split(np.arange(40), 3):  # state accumulates over batches
        m.update_state(LABELS[chunk], SCORES[chunk], sample_weight=WEIGHTS[chunk])
    assert m.result() == pytest.approx(expected, rel=1e-12)


def test_auc_multi_label_averages_label_aucs_and_from_logits_applies_sigmoid():
    t = np.stack([LABELS, 1 - LABELS], axis=1)
    p = np.stack([SCORES, 1 - SCORES], axis=1)
    multi = metrics.AUC(multi_label=True, label_weights=[1.0, 3.0])
    multi.update_state(t, p)
    singles = []
    for j in range(2):
        single = metrics.AUC()
        single.update_state(t[:, j], p[:, j])
        singles.append(single.result())
    assert multi.result() == pytest.approx((singles[0] + 3 * singles[1]) / 4, rel=1e-12)
    logits = metrics.AUC(from_logits=True)
    logits.update_state(LABELS, np.log(SCORES + 1e-3) - np.log(1 - SCORES + 1e-3))
    assert 0.5 < logits.result() <= 1.0


def test_precision_recall_and_counts_match_numpy():
    tp, fp, tn, fn = _counts(LABELS, SCORES, [0.5], WEIGHTS)
    p, r = metrics.Precision(), metrics.Recall()
    p.update_state(LABELS, SCORES, sample_weight=WEIGHTS)
    r.update_state(LABELS, SCORES, sample_weight=WEIGHTS)
    assert p.result() == pytest.approx(tp[0] / (tp[0] + fp[0])) and r.result() == pytest.approx(tp[0] / (tp[0] + fn[0]))
    several = metrics.Precision(thresholds=[0.3, 0.7])
    several.update_state(LABELS, SCORES)
    tp2, fp2, _, _ = _counts(LABELS, SCORES, [0.3, 0.7], np.ones(40))
    np.testing.assert_allclose(several.result(), tp2 / (tp2 + fp2))
    for cls, value in [(metrics.TruePositives, tp), (metrics.FalsePositives, fp), (metrics.TrueNegatives, tn),
                       (metrics.FalseNegatives, fn)]:
        m = cls()
        m.update_state(LABELS, SCORES, sample_weight=WEIGHTS)
        assert m.result() == pytest.approx(value[0])


def test_precision_top_k_and_class_id_follow_keras():
    y_true = np.array([[0, 0, 1, 1]])
    y_pred = np.array([[1.0, 1.0, 1.0, 1.0]])
    top = metrics.Precision(top_k=2)  # ties: the first two indices are the top 2, both wrong
    top.update_state(y_true, y_pred)
    assert top.result() == 0.0
    by_class = metrics.Recall(class_id=2)
    by_class.update_state(np.array([[0, 0, 1], [0, 0, 1]]), np.array([[0.1, 0.2, 0.9], [0.6, 0.1, 0.3]]))
    assert by_class.result() == 0.5


def _f_scores(t, p, beta, threshold):
    hit = (p == p.max(1, keepdims=True)) if threshold is None else p > threshold
    tp = np.sum(hit * t, 0)
    fp = np.sum(hit * (1 - t), 0)
    fn = np.sum((1 - hit) * t, 0)
    prec, rec = _div(tp, tp + fp), _div(tp, tp + fn)
    return (1 + beta ** 2) * _div(prec * rec, beta ** 2 * prec + rec), t.sum(0)


@pytest.mark.parametrize("average, beta, threshold", [(None, 1.0, None), ("macro", 2.0, 0.4), ("weighted", 0.5, None),
                                                      ("micro", 1.0, 0.3)])
def test_fbeta_scores_match_numpy(average, beta, threshold):
    t = np.eye(3)[RNG.integers(0, 3, 30)]
    p = RNG.dirichlet(np.ones(3), size=30)
    m = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    m.update_state(t[:15], p[:15])
    m.update_state(t[15:], p[15:])
    scores, support = _f_scores(t, p, beta, threshold)
    if average == "micro":
        hit = p > threshold
        tp, fp, fn = np.sum(hit * t), np.sum(hit * (1 - t)), np.sum((1 - hit) * t)
        prec, rec = tp / (tp + fp), tp / (tp + fn)
        expected = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec)
    else:
        expected = {None: scores, "macro": scores.mean(), "weighted": np.sum(scores * support / support.sum())}[average]
    np.testing.assert_allclose(m.result(), expected, rtol=1e-12)
    assert metrics.F1Score(average="macro").get_config()["average"] == "macro"


def test_mean_iou_matches_numpy_and_ignores_a_class():
    t, p = RNG.integers(0, 3, 50), RNG.integers(0, 3, 50)
    m = metrics.MeanIoU(num_classes=4)  # class 3 never appears: skipped, as in Keras
    m.update_state(t, p)
    ious = [np.sum((t == c) & (p == c)) / np.sum((t == c) | (p == c)) for c in range(3)]
    assert m.result() == pytest.approx(np.mean(ious))
    ignoring = metrics.MeanIoU(num_classes=3, ignore_class=0, sparse_y_pred=False)
    ignoring.update_state(t, np.eye(3)[p])
    keep = t != 0
    ious = [np.sum((t[keep] == c) & (p[keep] == c)) / max(np.sum((t[keep] == c) | (p[keep] == c)), 1)
            for c in range(3)]
    assert ignoring.result() == pytest.approx(np.sum(ious) / sum(np.sum((t[keep] == c) | (p[keep] == c)) > 0
                                                                 for c in range(3)))


def test_rmse_and_loss_named_metrics_are_means_of_their_losses():
    y, q = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    rmse = metrics.RootMeanSquaredError()
    rmse.update_state(y, q, sample_weight=np.arange(1.0, 7.0))
    assert rmse.result() == pytest.approx(np.sqrt(np.sum((y - q) ** 2 * np.arange(1.0, 7.0)[:, None]) /
                                                  (3 * np.arange(1.0, 7.0).sum())))
    probs = RNG.dirichlet(np.ones(3), size=6)
    onehot = np.eye(3)[RNG.integers(0, 3, 6)]
    for metric, loss, t, p in [(metrics.KLDivergence(), losses.KLDivergence(), probs, probs[::-1]),
                               (metrics.CategoricalCrossentropy(), losses.CategoricalCrossentropy(), onehot, probs),
                               (metrics.Hinge(), losses.Hinge(), np.sign(y), q),
                               (metrics.LogCoshError(), losses.LogCosh(), y, q),
                               (metrics.MeanAbsolutePercentageError(), losses.MeanAbsolutePercentageError(), y, q)]:
        metric.update_state(t, p)
        assert metric.result() == pytest.approx(loss(t, p).item(), rel=1e-12), metric.name
    cosine = metrics.CosineSimilarity()
    cosine.update_state(y, y * 2)
    assert cosine.result() == pytest.approx(1.0) and metrics.LogCoshError().name == "logcosh"


NEW = [metrics.AUC(num_thresholds=7, curve="PR"), metrics.AUC(thresholds=[0.2, 0.6]), metrics.Precision(0.3),
       metrics.Recall(thresholds=[0.2, 0.5], class_id=1), metrics.TruePositives(), metrics.F1Score("weighted"),
       metrics.FBetaScore(beta=2.0, threshold=0.5), metrics.MeanIoU(3, ignore_class=1),
       metrics.RootMeanSquaredError(), metrics.CosineSimilarity(axis=0), metrics.BinaryCrossentropy(from_logits=True),
       metrics.KLDivergence(name="kl"), metrics.Sum()]


@pytest.mark.parametrize("metric", NEW, ids=[type(m).__name__ for m in NEW])
def test_config_round_trips_through_the_registry(metric):
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()


@pytest.mark.parametrize("make, match", [
    (lambda: metrics.AUC(curve="roc2"), "AUC: expected curve to be one of 'ROC', 'PR', received 'roc2'"),
    (lambda: metrics.AUC(num_thresholds=1), "AUC: expected num_thresholds to be an int >= 2, received 1"),
    (lambda: metrics.FBetaScore(beta=0), "FBetaScore: expected beta to be a finite float > 0, received 0"),
    (lambda: metrics.F1Score(average="mean"), "F1Score: expected average to be one of None, .*, received 'mean'"),
    (lambda: metrics.MeanIoU(0), "MeanIoU: expected num_classes to be a positive int, received 0"),
    (lambda: metrics.Precision(top_k=0), "Precision: expected top_k to be a positive int or None, received 0"),
    (lambda: metrics.MeanIoU(2).update_state([0, 5], [0, 1]), "mean_io_u: class ids must be in|mean_iou: class ids"),
    (lambda: metrics.F1Score().update_state(np.ones((2, 3)), np.ones((2, 4))), "f1_score: expected y_true and y_pred"),
])
def test_bad_input_names_the_metric(make, match):
    with pytest.raises(ValueError, match=match):
        make()


class BinaryTruePositives(metrics.Metric):
    """The Keras 3 guide's custom metric, verbatim but for the imports."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "bool")
        y_pred = ops.cast(ops.greater(y_pred, 0.5), "bool")
        values = ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True))
        values = ops.cast(values, self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            sample_weight = ops.broadcast_to(sample_weight, ops.shape(values))
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives


def test_add_variable_metric_works_alone_and_in_fit():
    m = BinaryTruePositives()
    m.update_state(np.array([[1], [1], [0]]), np.array([[0.9], [0.2], [0.8]]))
    assert float(m.result()) == 1.0 and [v.name for v in m.variables] == ["binary_true_positives/true_positives"]
    m.reset_state()
    assert float(m.result()) == 0.0
    mg.set_seed(1)
    model = mg.Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[BinaryTruePositives(), metrics.AUC()])
    x = RNG.normal(size=(16, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert set(history.history) >= {"loss", "binary_true_positives", "auc"}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    assert logs["binary_true_positives"] == float(np.sum((predicted > 0.5) & (y > 0)))
    auc = metrics.AUC()
    auc.update_state(y, predicted)
    assert logs["auc"] == pytest.approx(auc.result())


@pytest.mark.parametrize("metric, weights, plain, weighted", [
    (lambda: metrics.SensitivityAtSpecificity(0.5), [1, 1, 2, 2, 1], 0.5, 1 / 3),
    (lambda: metrics.SpecificityAtSensitivity(0.5), [1, 1, 2, 2, 2], 2 / 3, 0.5),
    (lambda: metrics.PrecisionAtRecall(0.5), [2, 2, 2, 1, 1], 0.5, 1 / 3),
])
def test_rate_at_constraint_metrics_match_the_keras_documentation(metric, weights, plain, weighted):
    m = metric()
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    assert m.result() == pytest.approx(plain)
    m.reset_state()
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], sample_weight=weights)
    assert m.result() == pytest.approx(weighted)
    assert metrics.deserialize(metrics.serialize(m)).get_config() == m.get_config()


def test_recall_at_precision_is_zero_when_the_precision_is_out_of_reach():
    m = metrics.RecallAtPrecision(0.8)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result() == pytest.approx(0.5)
    impossible = metrics.RecallAtPrecision(1.0, num_thresholds=3)
    impossible.update_state([1, 0], [0.4, 0.9])
    assert impossible.result() == 0.0
    with pytest.raises(ValueError, match=r"PrecisionAtRecall: expected recall to be a float in \[0, 1\], received 1.5"):
        metrics.PrecisionAtRecall(1.5)


@pytest.mark.parametrize("aggregation", ["uniform_average", "variance_weighted_average", None])
def test_r2_score_matches_numpy(aggregation):
    y = RNG.normal(size=(30, 2)) * [1.0, 3.0]
    q = y + RNG.normal(size=(30, 2)) * 0.5
    w = RNG.uniform(0.5, 2, size=30)
    m = metrics.R2Score(class_aggregation=aggregation)
    m.update_state(y[:10], q[:10], sample_weight=w[:10])
    m.update_state(y[10:], q[10:], sample_weight=w[10:])
    mean = np.sum(y * w[:, None], 0) / w.sum()
    ss_tot = np.sum(w[:, None] * (y - mean) ** 2, 0)
    raw = 1 - np.sum(w[:, None] * (y - q) ** 2, 0) / ss_tot
    expected = {"uniform_average": raw.mean(), "variance_weighted_average": np.sum(ss_tot * raw) / ss_tot.sum(),
                None: raw}[aggregation]
    np.testing.assert_allclose(m.result(), expected, rtol=1e-10)
    adjusted = metrics.R2Score(num_regressors=3)
    adjusted.update_state(y, q)
    plain = 1 - np.sum((y - q) ** 2, 0) / np.sum((y - y.mean(0)) ** 2, 0)
    assert adjusted.result() == pytest.approx(1 - (1 - plain.mean()) * 29 / 26)
    assert metrics.deserialize(metrics.serialize(m)).get_config() == m.get_config()


def test_iou_family_matches_the_keras_documentation():
    m = metrics.IoU(num_classes=2, target_class_ids=[0])
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert m.result() == pytest.approx(1 / 3, rel=1e-6)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    assert m.result() == pytest.approx(1 / 3, rel=1e-5)
    b = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    b.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert b.result() == pytest.approx(1 / 3, rel=1e-6)
    b.reset_state()
    b.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert b.result() == pytest.approx(0.17361112, rel=1e-5)
    onehot = metrics.OneHotMeanIoU(num_classes=3)
    t, p = RNG.integers(0, 3, 20), RNG.integers(0, 3, 20)
    onehot.update_state(np.eye(3)[t], np.eye(3)[p] * 0.8)
    sparse = metrics.MeanIoU(num_classes=3)
    sparse.update_state(t, p)
    assert onehot.result() == pytest.approx(sparse.result())
    for made in (metrics.IoU(3, [1, 2], ignore_class=0), metrics.BinaryIoU([1], 0.4), metrics.OneHotIoU(3, [0]),
                 onehot):
        assert metrics.deserialize(metrics.serialize(made)).get_config() == made.get_config()
    with pytest.raises(ValueError, match=r"IoU: target_class_ids must be class ids in \[0, 2\)"):
        metrics.IoU(2, [2])


def test_custom_metric_and_loss_default_names_are_snake_case_as_keras():
    class TruePositiveRate(metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass

        def result(self):
            return 0.0

    class WeightedError(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.abs(y_pred - y_true), axis=-1)

    assert TruePositiveRate().name == "true_positive_rate" and WeightedError().name == "weighted_error"
