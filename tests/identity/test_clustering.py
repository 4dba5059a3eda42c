"""Clustering: strongest links first, guarded, never chained."""

from __future__ import annotations

from amigo.identity.clustering import Link, cluster
from identity.identity_records import record


def test_records_join_along_links_strongest_first() -> None:
    features = [
        record("Jean", "Dupont", email="jd@free.fr"),
        record("Jean", "Dupont", email="jd@free.fr", phone="+33612345678"),
        record("Jean", "Dupont", phone="+33612345678"),
    ]
    outcome = cluster(features, [Link(0, 1, 0.999, "model"), Link(1, 2, 0.998, "model")])

    assert len(set(outcome.roots)) == 1
    assert [(j.left, j.right) for j in outcome.joins] == [(0, 1), (1, 2)]


def test_a_link_cannot_chain_two_people_through_a_third_record() -> None:
    # 0 and 2 are namesakes (two birth dates); 1 has no birth date and links to both.
    features = [
        record("Jean", "Dupont", birth="1980-03-12", email="jean@free.fr"),
        record("Jean", "Dupont", email="jean@free.fr", phone="+33611111111"),
        record("Jean", "Dupont", birth="1961-10-02", phone="+33611111111"),
    ]
    outcome = cluster(features, [Link(0, 1, 0.999, "model"), Link(1, 2, 0.99, "model")])

    assert outcome.roots[0] == outcome.roots[1] != outcome.roots[2]
    [refused] = outcome.refused
    assert refused.reasons == ("birth_date_conflict",)
    assert refused.final


def test_a_weak_link_does_not_pull_two_strong_clusters_together() -> None:
    features = [
        record("Ann", "Lee", email="ann@x.com", city="Leeds"),
        record("Ann", "Lee", email="ann@x.com", city="Leeds"),
        record("Ann", "Lee", email="lee@y.com", city="York"),
        record("Ann", "Lee", email="lee@y.com", city="York"),
    ]
    links = [
        Link(0, 1, 1.0, "same e-mail"),
        Link(2, 3, 1.0, "same e-mail"),
        Link(1, 2, 0.995, "model"),
    ]
    scores = {(0, 1): 1.0, (2, 3): 1.0, (1, 2): 0.995}  # no other cross pair looks alike

    outcome = cluster(features, links, scores=scores, review_threshold=0.5)

    assert outcome.roots[0] == outcome.roots[1]
    assert outcome.roots[2] == outcome.roots[3]
    assert outcome.roots[1] != outcome.roots[2]
    assert outcome.refused[0].reasons == ("support",)


def test_existing_profiles_stay_whole_and_decisions_keep_sides_apart() -> None:
    features = [record("Jean", "Dupont", email=f"j{i}@free.fr") for i in range(4)]
    outcome = cluster(
        features,
        [Link(1, 2, 0.999, "model"), Link(2, 3, 0.998, "model")],
        groups=[[0, 1]],
        separations=[([0, 1], [2])],
    )

    assert outcome.roots[0] == outcome.roots[1]
    assert outcome.roots[2] == outcome.roots[3] != outcome.roots[0]
    assert outcome.refused[0].reasons == ("decision",)
