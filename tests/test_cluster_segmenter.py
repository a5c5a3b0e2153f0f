"""CustomerSegmenter on CDNOW: scaling, tiers, profile, predict, bad input, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import load_cdnow
from patronage.exceptions import DataError, MissingColumnError, NotFittedError, ParameterError

FEATURES = ["recency_days", "n_orders", "total_spend"]


@pytest.fixture(scope="module")
def rfm():
    return patronage.rfm_table(load_cdnow())


@pytest.fixture(scope="module")
def seg3(rfm):
    return patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)


def test_scaling_is_log1p_then_standardise(rfm, seg3):
    z = np.log1p(rfm[FEATURES].to_numpy(float))
    np.testing.assert_allclose(seg3.center_, z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(seg3.scale_, z.std(0), rtol=1e-12)
    scaled = seg3.transform_features(rfm)
    np.testing.assert_allclose(scaled.to_numpy(), (z - z.mean(0)) / z.std(0), rtol=1e-10, atol=1e-12)
    # every customer is in the cluster of the closest centre in that space
    centres = seg3.kmeans_.cluster_centers_
    closest = ((scaled.to_numpy()[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(closest, seg3.labels_.to_numpy())


def test_labels_and_tiers(rfm, seg3):
    assert seg3.labels_.index.equals(rfm.index)
    assert seg3.tiers_.tolist() == ["core", "potential", "ordinary"]
    assert seg3.customer_tiers_.index.equals(rfm.index)
    mean_spend = rfm["total_spend"].groupby(seg3.labels_).mean()
    # tiers are ordered by spend per customer
    assert mean_spend.loc[seg3.tiers_.index].is_monotonic_decreasing
    assert (seg3.customer_tiers_ == "core").sum() == (seg3.labels_ == seg3.tiers_.index[0]).sum()


def test_profile_against_pandas(rfm, seg3):
    prof = seg3.profile()
    g = rfm.groupby(seg3.labels_)
    assert prof["customers"].sum() == len(rfm)
    assert prof["share_of_customers"].sum() == pytest.approx(1.0)
    assert prof["share_of_revenue"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(prof["revenue"], g["total_spend"].sum().loc[prof.index], rtol=1e-12)
    for f in FEATURES:
        np.testing.assert_allclose(prof[f"mean_{f}"], g[f].mean().loc[prof.index], rtol=1e-12)
        np.testing.assert_allclose(prof[f"median_{f}"], g[f].median().loc[prof.index], rtol=1e-12)
    raw_centres = np.expm1(seg3.kmeans_.cluster_centers_ * seg3.scale_ + seg3.center_)
    np.testing.assert_allclose(prof[[f"centre_{f}" for f in FEATURES]].to_numpy(), raw_centres[prof.index],
                               rtol=1e-12)
    assert prof["tier"].tolist() == ["core", "potential", "ordinary"]
    # the playbook's premise: core customers bring more than their share of revenue
    assert prof["share_of_revenue"].iloc[0] > prof["share_of_customers"].iloc[0]
    assert "<table" in seg3._repr_html_()


def test_predict_uses_the_fitted_scaling(rfm, seg3):
    new = rfm.iloc[::7]
    np.testing.assert_array_equal(seg3.predict(new), seg3.labels_.iloc[::7])
    assert seg3.predict(new).index.equals(new.index)
    assert (seg3.predict_tier(new) == seg3.customer_tiers_.iloc[::7]).all()
    with pytest.raises(MissingColumnError, match="n_orders"):
        seg3.predict(new.drop(columns="n_orders"))


def test_auto_k_uses_select_k(rfm):
    small = rfm.iloc[:3000]
    seg = patronage.CustomerSegmenter(random_state=1, k_range=range(3, 6)).fit(small)
    assert seg.n_clusters_ == seg.selection_.attrs["recommended_k"]
    assert list(seg.selection_.index) == [3, 4, 5]
    assert len(seg.tiers_) == seg.n_clusters_
    assert seg.tiers_.tolist() == patronage.cluster.tier_names(seg.n_clusters_)


def test_tier_names_and_overrides(rfm):
    assert patronage.cluster.tier_names(3) == ["core", "potential", "ordinary"]
    assert patronage.cluster.tier_names(4) == ["core 1", "core 2", "potential", "ordinary"]
    seg = patronage.CustomerSegmenter(4, random_state=0, tier_labels=["VIP", "A", "B", "C"]).fit(rfm.iloc[:2000])
    assert seg.tiers_.tolist() == ["VIP", "A", "B", "C"]
    seg.rename_tiers({seg.tiers_.index[3]: "dormant"})
    assert seg.tiers_.iloc[3] == "dormant"
    assert set(seg.customer_tiers_.cat.categories) == {"VIP", "A", "B", "dormant"}
    with pytest.raises(ParameterError, match="2 names for 4 tiers"):
        seg.rename_tiers(["a", "b"])


def test_input_not_modified(rfm):
    before = rfm.copy()
    patronage.CustomerSegmenter(3, random_state=0).fit(rfm).predict(rfm)
    pd.testing.assert_frame_equal(rfm, before)


def _frame(**cols):
    base = {"recency_days": [1.0, 20.0, 300.0, 45.0], "n_orders": [5, 1, 1, 2],
            "total_spend": [500.0, 20.0, 15.0, 60.0]}
    base.update(cols)
    return pd.DataFrame(base, index=["a", "b", "c", "d"])


def test_bad_input_is_named():
    seg = patronage.CustomerSegmenter(2)
    with pytest.raises(DataError, match=r"'total_spend' is NaN or infinite at index label 'c'"):
        seg.fit(_frame(total_spend=[1.0, 2.0, np.nan, 3.0]))
    with pytest.raises(DataError, match="'n_orders' has zero variance"):
        seg.fit(_frame(n_orders=[2, 2, 2, 2]))
    same = pd.DataFrame({f: [3.0] * 4 for f in FEATURES})
    with pytest.raises(DataError, match="single distinct point"):
        seg.fit(same)
    patronage.CustomerSegmenter(2, scaling="standard").fit(_frame(total_spend=[10.0, -5.0, 3.0, 4.0]))
    with pytest.raises(ParameterError, match="n_clusters=5 but rfm has only 4 customers"):
        patronage.CustomerSegmenter(5).fit(_frame())
    with pytest.raises(ParameterError) as err:
        patronage.CustomerSegmenter(0).fit(_frame())
    assert err.value.parameter == "n_clusters"
    with pytest.raises(ParameterError, match="scaling"):
        patronage.CustomerSegmenter(2, scaling="log").fit(_frame())
    with pytest.raises(MissingColumnError, match="'total_spend'"):
        seg.fit(_frame().drop(columns="total_spend"))
    with pytest.raises(NotFittedError):
        patronage.CustomerSegmenter(2).profile()


def test_negative_net_spend_is_placed_with_those_who_spent_least(rfm):
    """Returns can make net spend negative: log-standard takes it as 0, so such customers are
    scaled like customers who spent nothing and land in the tier of the lowest spenders."""
    netted = rfm.copy()
    low = netted["total_spend"].nsmallest(40).index
    netted.loc[low[:20], "total_spend"] = -np.linspace(5.0, 500.0, 20)  # returned more than they bought
    seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(netted)
    z = np.log1p(np.clip(netted[FEATURES].to_numpy(float), 0, None))
    np.testing.assert_allclose(seg.center_, z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(seg.transform_features(netted).to_numpy(), (z - z.mean(0)) / z.std(0), rtol=1e-10,
                               atol=1e-12)
    # each negative spender is in the cluster of a zero spender with the same recency and orders
    twins = netted.loc[low[:20]].assign(total_spend=0.0)
    np.testing.assert_array_equal(seg.predict(twins), seg.labels_.loc[low[:20]])
    assert set(seg.customer_tiers_.loc[low[:20]]) == {"ordinary"}
    assert np.isfinite(seg.profile()["revenue"]).all()


def test_plots_smoke(rfm, seg3):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    sel = patronage.select_k(seg3.transform_features(rfm.iloc[:1500]), range(2, 6), random_state=0)
    axes = patronage.plot_k_selection(sel, color="black")
    # one panel per criterion in its own units, each with the recommended-k line, and a title that says it
    assert [len(a.lines) for a in axes] == [2, 2, 2, 2]
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), sel.table["silhouette"])
    assert axes[0].lines[0].get_color() == "black"  # keyword arguments reach matplotlib
    assert f"recommended k = {sel.recommended_k}" in axes[0].figure._suptitle.get_text()  # get_suptitle() is matplotlib >= 3.8
    ax = patronage.plot_clusters(seg3, rfm, "recency_days", "total_spend", max_points=500, marker="+")
    assert ax.get_xlabel() == "recency_days" and len(ax.collections) == 4  # three tiers and the centres
    # the largest tier is drawn first, so the small ones lie on top
    sizes = [len(c.get_offsets()) for c in ax.collections[:3]]
    assert sizes == sorted(sizes, reverse=True)
    # one customer who spent nothing keeps the spend axis logarithmic above the smallest positive spend
    zero = rfm.copy()
    zero.iloc[0, zero.columns.get_loc("total_spend")] = 0.0
    ax = patronage.plot_clusters(seg3, zero, "recency_days", "total_spend")
    assert ax.get_yscale() == "symlog" and ax.get_xscale() in ("log", "symlog")
    ax = patronage.plot_tiers(seg3)
    assert len(ax.patches) == 6 and [t.get_text() for t in ax.get_xticklabels()] == seg3.tiers_.tolist()
    with pytest.raises(ParameterError, match="n_orders_x"):
        patronage.plot_clusters(seg3, rfm, "n_orders_x")
    plt.close("all")


def test_an_array_is_segmented_like_the_same_table_and_without_a_value_ranked_by_size():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(8, 1, (30, 2)), rng.normal(-8, 1, (10, 2))])
    table = pd.DataFrame(X, columns=["a", "b"])
    on_array = patronage.CustomerSegmenter(3, features=None, value=None, scaling="standard", random_state=0).fit(X)
    on_table = patronage.CustomerSegmenter(3, features=["a", "b"], value=None, scaling="standard",
                                           random_state=0).fit(table)
    np.testing.assert_array_equal(on_array.labels_.to_numpy(), on_table.labels_.to_numpy())
    assert on_array.features_ == ["x0", "x1"] and on_array.n_features_in_ == 2
    assert not hasattr(on_array, "feature_names_in_")
    # no value: named segments, largest first (60, 30, 10 customers by construction)
    prof = on_array.profile()
    assert prof["tier"].tolist() == ["segment 1", "segment 2", "segment 3"]
    assert prof["customers"].tolist() == [60, 30, 10]
    assert "revenue" not in prof.columns
    with pytest.raises(DataError, match="X has 3 features, but CustomerSegmenter is expecting 2"):
        on_array.predict(np.zeros((2, 3)))
    with pytest.raises(MissingColumnError, match="'recency_days' is not in the RFM table; columns found: 'x0'"):
        patronage.CustomerSegmenter(3).fit(X)
