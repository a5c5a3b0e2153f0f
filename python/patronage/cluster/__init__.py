"""Customer segmentation: k-means, clustering criteria, k selection, RFM tiers.

- :class:`KMeans`: scikit-learn-compatible k-means on the Rust core.
- :func:`silhouette_score`, :func:`calinski_harabasz_score`,
  :func:`davies_bouldin_score`: exact, scikit-learn's definitions.
- :func:`select_k`: the criteria for a range of k and a recommended k.
- :class:`CustomerSegmenter`: scaled RFM features -> k-means -> tiers
  (core / potential / ordinary) with a per-cluster profile.
- :func:`plot_k_selection`, :func:`plot_clusters`, :func:`plot_tiers`
  (matplotlib, imported only when called).
"""

from .kmeans import KMeans
from .metrics import calinski_harabasz_score, davies_bouldin_score, select_k, silhouette_samples, silhouette_score
from .plot import plot_clusters, plot_k_selection, plot_tiers
from .segmenter import CustomerSegmenter, tier_names

__all__ = [
    "KMeans",
    "CustomerSegmenter",
    "select_k",
    "silhouette_score",
    "silhouette_samples",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "tier_names",
    "plot_k_selection",
    "plot_clusters",
    "plot_tiers",
]
