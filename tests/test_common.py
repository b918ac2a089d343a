"""scikit-learn's own estimator checks, run on a small fast configuration."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknet import NetRegressor

# Adam at a higher learning rate reaches the score the regression checks ask
# for within 100 epochs; the defaults (plain SGD, 10000 epochs) would too, but
# slowly.
FAST_CONFIGURATIONS = [
    NetRegressor(optimizer="adam", lr=0.01, max_epochs=100, random_state=0),
    NetRegressor(
        optimizer="adam",
        lr=0.01,
        max_epochs=50,
        batch_size=16,
        module__hidden_layer_sizes=(16, 8),
        random_state=0,
    ),
]


def expected_failures(estimator):
    if estimator.batch_size is None:
        return {}
    reason = (
        "mini-batch training puts a repeated row and its weighted original in "
        "different batches, so the two fits take different steps; full-batch "
        "training passes"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@parametrize_with_checks(FAST_CONFIGURATIONS, expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
