"""Simulates members reading and engaging with feeds, and logs every impression with its features and outcome.

There is no public dataset for this product, so training data comes from a world whose engagement process is
known (ranking/simulator.json holds every parameter):

- members sit in communities, connect mostly inside them, and follow popular accounts preferentially;
- they post text, images, videos and articles at their own pace, with a latent post quality and author quality;
- every hour some members open their feed and see up to 30 candidates from their network (and a little from
  outside it), sampled by relationship and recency;
- each impression engages with a ground-truth probability: a logistic function of the relationship, the post's
  format, length and age (articles age more slowly than the rest), the latent qualities, social proof from the counts so far (a popularity effect),
  past interactions with the author, the author's reach, the viewer's unobserved topic affinity and propensity,
  plus Gaussian noise;
- posts also collect engagement from outside the simulated sessions, faster when they are good, fresh, already
  popular and by widely followed authors (rich get richer).

What the model sees are the observable inputs of ranking/feature-schema.json; the latent parts are only noise
to it, so the ground-truth probability (kept in the log as p_true) bounds what any model could reach.

Usage: python ranking/simulate.py [--out ranking/data/impressions.npz]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import sparse

HERE = Path(__file__).parent
TYPES = ["text", "image", "video", "article"]
# Relationship codes of a (viewer, author) pair, the strength the seed gives each, and the schema's degree.
REL_NAMES = ["connected", "viewerFollows", "authorFollows", "second", "none"]
REL_STRENGTH = np.array([1.0, 0.7, 0.5, 0.3, 0.0])
REL_DEGREE = np.array(["first", "follow", "follow", "second", "none"])
KINDS = ["like", "comment", "share"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class World:
    def __init__(self, p: dict, rng: np.random.Generator):
        self.p = p
        self.rng = rng
        w, g, post = p["world"], p["graph"], p["posting"]
        n = self.n = w["members"]
        T = w["topics"]

        # Communities share a topic centre, so connected members tend to like the same things.
        community = rng.integers(0, w["communities"], n)
        centres = rng.normal(size=(w["communities"], T))
        interests = centres[community] + 0.7 * rng.normal(size=(n, T))
        self.interests = interests / np.linalg.norm(interests, axis=1, keepdims=True)

        same = community[:, None] == community[None, :]
        conn = np.triu(same & (rng.random((n, n)) < g["connectProbInCommunity"]), 1)
        cross_a = np.repeat(np.arange(n), g["crossCommunityConnections"])
        cross_b = rng.integers(0, n, cross_a.size)
        conn[np.minimum(cross_a, cross_b), np.maximum(cross_a, cross_b)] = True
        conn = conn | conn.T
        np.fill_diagonal(conn, False)

        self.author_quality = rng.normal(0, post["authorQualitySd"], n)
        popularity = np.exp(self.author_quality + rng.normal(0, g["followPopularitySd"], n))
        follows = np.zeros((n, n), dtype=bool)
        prob = popularity / popularity.sum()
        for v in range(n):
            targets = rng.choice(n, size=g["followsPerMember"], replace=False, p=prob)
            follows[v, targets[targets != v]] = True
        external = np.exp(
            g["externalFollowersLogMean"]
            + g["externalFollowersPopularityGain"] * np.log(popularity)
            + rng.normal(0, g["externalFollowersLogSd"], n)
        )
        self.followers = np.round(follows.sum(axis=0) + external)

        c = sparse.csr_matrix(conn.astype(np.float32))
        second = (c @ c).toarray() > 0
        rel = np.full((n, n), 4, dtype=np.int8)
        rel[second] = 3
        rel[follows.T] = 2  # the author follows the viewer
        rel[follows] = 1  # the viewer follows the author
        rel[conn] = 0
        np.fill_diagonal(rel, -1)
        self.rel = rel

        # Prior interactions: history before the simulated window, more with close and like-minded authors.
        h = p["history"]
        affinity = self.interests @ self.interests.T
        lam = h["priorInteractionsRate"] * REL_STRENGTH[np.clip(rel, 0, 4)] * np.exp(h["priorTopicGain"] * affinity)
        lam[rel < 0] = 0
        self.interactions = rng.poisson(lam).astype(np.int32)
        self.viewer_propensity = rng.normal(0, p["sessions"]["viewerActivitySd"], n)
        self.post_rate = post["postsPerMemberPerDay"] / 24 * rng.lognormal(0, post["activitySd"], n)
        self.post_rate *= post["postsPerMemberPerDay"] / 24 / self.post_rate.mean()

        cap = int(n * post["postsPerMemberPerDay"] * (w["warmupDays"] + w["loggedDays"]) * 1.5) + 1000
        self.P = 0
        self.author = np.zeros(cap, np.int32)
        self.created = np.zeros(cap)
        self.ptype = np.zeros(cap, np.int8)
        self.media = np.zeros(cap, bool)
        self.length = np.zeros(cap)
        self.post_quality = np.zeros(cap)
        self.topic = np.zeros((cap, T))
        self.counts = np.zeros((cap, 3))  # likes, comments, shares
        self.author_posts = np.zeros(n)
        self.author_engagements = np.zeros(n)
        self.viewer_post: dict[tuple[int, int], int] = {}

    def create_posts(self, hour: int) -> None:
        post = self.p["posting"]
        k = self.rng.poisson(self.post_rate)
        authors = np.repeat(np.arange(self.n), k)
        m = authors.size
        s = slice(self.P, self.P + m)
        self.author[s] = authors
        self.created[s] = hour + self.rng.random(m)
        types = self.rng.choice(len(TYPES), size=m, p=[post["typeMix"][t] for t in TYPES])
        self.ptype[s] = types
        self.media[s] = self.rng.random(m) < np.array([post["mediaProb"][t] for t in TYPES])[types]
        log_mean = np.array([post["lengthLogMean"][t] for t in TYPES])[types]
        self.length[s] = np.maximum(1, np.round(np.exp(log_mean + self.rng.normal(0, post["lengthLogSd"], m))))
        self.post_quality[s] = self.rng.normal(0, post["postQualitySd"], m)
        topic = self.interests[authors] + self.rng.normal(0, post["topicNoiseSd"], (m, self.interests.shape[1]))
        self.topic[s] = topic / np.linalg.norm(topic, axis=1, keepdims=True)
        np.add.at(self.author_posts, authors, 1)
        self.P += m

    def engage(self, posts: np.ndarray, kinds: np.ndarray, viewers: np.ndarray | None) -> None:
        np.add.at(self.counts, (posts, kinds), 1)
        np.add.at(self.author_engagements, self.author[posts], 1)
        if viewers is not None:
            np.add.at(self.interactions, (viewers, self.author[posts]), 1)
            for v, q in zip(viewers.tolist(), posts.tolist()):
                self.viewer_post[(v, q)] = self.viewer_post.get((v, q), 0) + 1

    def background(self, hour: int) -> None:
        b = self.p["background"]
        alive = np.flatnonzero(self.created[: self.P] < hour)
        age = hour - self.created[alive]
        alive, age = alive[age < 7 * 24], age[age < 7 * 24]
        a = self.author[alive]
        total = self.counts[alive].sum(axis=1)
        lam = (
            b["ratePerHour"]
            * np.exp(self.author_quality[a] + self.post_quality[alive] + b["socialProof"] * np.log1p(total))
            * (self.followers[a] + 1) ** b["followersExponent"]
            * 0.5 ** (age / b["halfLifeHours"])
        )
        k = self.rng.poisson(lam)
        posts = np.repeat(alive, k)
        kinds = self.rng.choice(3, size=posts.size, p=[self.p["engagement"]["kindMix"][x] for x in KINDS])
        self.engage(posts, kinds, None)

    def sessions(self, hour: int) -> dict[str, np.ndarray] | None:
        s, e = self.p["sessions"], self.p["engagement"]
        rng = self.rng
        alive = np.flatnonzero(
            (self.created[: self.P] < hour) & (self.created[: self.P] >= hour - s["maxPostAgeHours"])
        )
        if alive.size == 0:
            return None
        weight = np.exp(self.viewer_propensity)
        viewers = rng.choice(self.n, size=s["requestsPerHour"], replace=False, p=weight / weight.sum())
        at = hour + rng.random(viewers.size)
        rel = self.rel[viewers][:, self.author[alive]]  # requests × alive posts
        cand_w = np.array([s["candidateWeight"][r] for r in REL_NAMES])
        age = at[:, None] - self.created[alive][None, :]
        w = np.where(rel >= 0, cand_w[np.clip(rel, 0, 4)], 0) * 0.5 ** (age / s["recencyHalfLifeHours"])
        # Gumbel top-k: a weighted sample without replacement of each request's candidates.
        keys = np.where(w > 0, np.log(np.maximum(w, 1e-300)) + rng.gumbel(size=w.shape), -np.inf)
        k = min(s["impressionsPerRequest"], alive.size)
        top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        ok = np.take_along_axis(keys, top, axis=1) > -np.inf

        req = np.repeat(np.arange(viewers.size), k).reshape(-1, k)[ok]
        v = viewers[req]
        col = top[ok]
        post = alive[col]
        a = self.author[post]
        r = rel[req, col]
        t = at[req]
        likes, comments, shares = self.counts[post].T
        own = np.array([self.viewer_post.get((vi, pi), 0) for vi, pi in zip(v.tolist(), post.tolist())])
        own_eng = self.counts[post].sum(axis=1)
        other_posts = self.author_posts[a] - 1
        rate = np.where(other_posts > 0, (self.author_engagements[a] - own_eng) / np.maximum(other_posts, 1), 0.0)
        raw = {
            "connectionStrength": REL_STRENGTH[r],
            "degree": REL_DEGREE[r],
            "postType": np.array(TYPES)[self.ptype[post]],
            "hasMedia": self.media[post],
            "contentLength": self.length[post],
            "postAgeHours": t - self.created[post],
            "authorEngagementRate": rate,
            "likes": likes,
            "comments": comments,
            "shares": shares,
            "pastInteractions": (self.interactions[v, a] - own).astype(np.float64),
            "authorFollowers": self.followers[a],
        }
        z = (
            e["intercept"]
            + e["strength"] * raw["connectionStrength"]
            + np.array([e["degree"][d] for d in raw["degree"]])
            + np.array([e["type"][x] for x in TYPES])[self.ptype[post]]
            + e["media"] * raw["hasMedia"]
            + e["lengthCurvature"] * (np.log1p(raw["contentLength"]) - e["lengthPeakLog"]) ** 2
            + np.array([e["ageLog"][x] for x in TYPES])[self.ptype[post]] * np.log1p(raw["postAgeHours"])
            + e["authorQuality"] * self.author_quality[a]
            + e["postQuality"] * self.post_quality[post]
            + e["socialProof"] * np.log1p(likes + 2 * comments + 3 * shares)
            + e["pastInteractions"] * np.log1p(raw["pastInteractions"])
            + e["followersLog"] * np.log1p(raw["authorFollowers"])
            + e["topicAffinity"] * np.einsum("ij,ij->i", self.interests[v], self.topic[post])
            + e["viewerPropensity"] * self.viewer_propensity[v]
            + rng.normal(0, e["noiseSd"], v.size)
        )
        p_true = sigmoid(z)
        label = rng.random(v.size) < p_true
        kinds = rng.choice(3, size=v.size, p=[e["kindMix"][x] for x in KINDS])
        hit = np.flatnonzero(label)
        self.engage(post[hit], kinds[hit], v[hit])
        return {
            **raw,
            "label": label.astype(np.int8),
            "kind": np.where(label, kinds, -1).astype(np.int8),
            "pTrue": p_true,
            "request": req.astype(np.int32),
            "hour": t,
            "viewer": v.astype(np.int32),
            "post": post.astype(np.int32),
            "author": a.astype(np.int32),
        }


def simulate(params: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(params["seed"])
    world = World(params, rng)
    w = params["world"]
    warmup, total = w["warmupDays"] * 24, (w["warmupDays"] + w["loggedDays"]) * 24
    logs: list[dict[str, np.ndarray]] = []
    requests = 0
    for hour in range(total):
        world.create_posts(hour)
        world.background(hour)
        rows = world.sessions(hour)
        if rows is None or hour < warmup:
            continue
        rows["request"] = rows["request"] + requests
        requests += params["sessions"]["requestsPerHour"]
        rows["hour"] = rows["hour"] - warmup
        logs.append(rows)
    return {k: np.concatenate([r[k] for r in logs]) for k in logs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default=str(HERE / "simulator.json"))
    ap.add_argument("--out", default=str(HERE / "data" / "impressions.npz"))
    args = ap.parse_args()
    with open(args.params, encoding="utf-8") as f:
        params = json.load(f)
    log = simulate(params)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **log)
    n = log["label"].size
    print(
        f"simulate: {n} impressions, {int(log['request'].max()) + 1} requests, "
        f"engagement rate {log['label'].mean():.4f}, mean p_true {log['pTrue'].mean():.4f} -> {out}"
    )
    for d in ["first", "follow", "second", "none"]:
        m = log["degree"] == d
        print(f"  degree {d:6s}: {m.mean():.3f} of impressions, engagement rate {log['label'][m].mean():.4f}")


if __name__ == "__main__":
    main()
