# ann_ref.py — the reference rows of ann_bench: hnswlib's own Python binding
# (Debian's python3-hnswlib), float32 vectors, and FAISS's (python3-faiss
# 1.7.3) HNSW over 8-bit scalar-quantised codes (IndexHNSWSQ: the leanest
# graph of the maintained libraries — links and codes only), each with the
# same M, ef_construction and ef_search as match_hnsw; built with every core
# (as the bench builds match_hnsw), searched on one thread; recall@1 against
# the same exact search (ids from 1, as the bench's). A library that is not
# installed gets a line saying so.
#   python3 ann_ref.py GALLERY.f32 QUERIES.f32 TRUTH.u64 DIM N M EF_CONSTRUCTION EF_SEARCH
import os
import sys
import time
import numpy as np
import hnswlib

gp, qp, tp, dim, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
m, efc, ef = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
gal = np.fromfile(gp, dtype=np.float32).reshape(-1, dim)
q = np.fromfile(qp, dtype=np.float32).reshape(-1, dim)
truth = np.fromfile(tp, dtype=np.uint64)


def timed(search):
    """p50, p95 (ms) and recall@1 of one-query searches; search(i) gives query i's nearest id"""
    times, hit = [], 0
    for i in range(len(q)):
        t = time.perf_counter()
        nearest = search(i)
        times.append((time.perf_counter() - t) * 1e3)
        hit += int(nearest) == int(truth[i])
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)], hit / len(q)


def faiss_rows():
    try:
        import faiss
    except ImportError:
        print("%-10d %-22s (python3-faiss is not available: scripts/deps.sh --bench)" % (n, "faiss HNSW-SQ8"))
        return
    faiss.omp_set_num_threads(os.cpu_count())
    fx = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, m)
    fx.hnsw.efConstruction = efc
    t0 = time.perf_counter()
    fx.train(gal)
    fx.add(gal)
    fbuild = time.perf_counter() - t0
    fb = len(faiss.serialize_index(fx))
    faiss.omp_set_num_threads(1)
    for e in (ef, 800):
        fx.hnsw.efSearch = e
        p50, p95, rec = timed(lambda i: fx.search(q[i:i + 1], 5)[1][0][0] + 1)
        if e == ef:
            print("%-10d %-22s %9.3f %9.3f %9.4f %9s %11.1f %10.0f   (%.0f B a face as serialised: 8-bit codes, links, levels)" % (
                n, "faiss HNSW-SQ8", p50, p95, rec, "-", fbuild, fb / 1048576.0, fb / n))
        else:
            print("%-10d %-22s %9.3f %9.3f %9.4f" % (n, "faiss HNSW-SQ8 ef %d" % e, p50, p95, rec))
    sys.stdout.flush()


idx = hnswlib.Index(space="l2", dim=dim)
idx.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=42)
t0 = time.perf_counter()
idx.add_items(gal, np.arange(1, n + 1), num_threads=os.cpu_count())
build = time.perf_counter() - t0
idx.set_num_threads(1)
idx.set_ef(ef)
times = []
hit = 0
for i in range(len(q)):
    t = time.perf_counter()
    labels, _ = idx.knn_query(q[i:i + 1], k=5, num_threads=1)
    times.append((time.perf_counter() - t) * 1e3)
    hit += int(labels[0][0]) == int(truth[i])
times.sort()
mb = n * (dim * 4 + m * 2 * 4 + 4 + 8) / 1048576.0
print("%-10d %-22s %9.3f %9.3f %9.4f %9s %11.1f %10.0f   (estimated: float32 vector, level-0 links, label)" % (
    n, "hnswlib python f32", times[len(times) // 2], times[int(len(times) * 0.95)], hit / len(q), "-", build, mb))
sys.stdout.flush()
del idx
faiss_rows()
