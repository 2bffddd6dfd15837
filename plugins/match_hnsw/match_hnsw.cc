/* match_hnsw.cc — approximate matcher plugin (issue 19): each tenant's
 * gallery is searched exactly while it is small (float32, like match_flat's
 * f32 mode) and through an HNSW graph (hnswlib, Debian's libhnswlib-dev,
 * header-only) once it reaches exact_below faces. Each node holds a face's
 * int8 code (a fixed scale of 200: +-0.635 covers every component of the dev
 * data's descriptors, whose largest is 0.58) and, after it, the code's
 * rounding residual in 4 bits: 192 bytes a face instead of 512. The graph is
 * walked with the int8 codes alone (AVX-512 distances; our own walk of the
 * base layer, which stops once the rest is stop_ratio times farther than the
 * nearest found — see walk()); the `rerank` nearest it finds are then
 * ranked again by their distance to the float query with the residual
 * added back (16 times finer than the code), so that near-ties —
 * common in a dense gallery of millions — come out in the order exact search
 * gives.
 *
 * - Online inserts go into the graph directly (compacted: into the delta,
 *   see struct Lean).
 * - Erasure (the right to be forgotten): a removed face's code is overwritten
 *   with zeros at once and the face leaves the results; its node stays in the
 *   graph, codeless, until the next rebuild — which happens in the background
 *   once removed nodes exceed rebuild_fraction of the graph, and drops them.
 * - Builds and rebuilds run on a thread of their own from a snapshot; searches
 *   go on meanwhile (on the exact store, or the old graph), and the changes
 *   made during the build are replayed before the swap. They insert the
 *   faces in a shuffled order: the oldest faces are not the graph's first
 *   nodes, which keep the fewest ways in.
 * - With persist_dir, each graph is written there after its build (hnswlib's
 *   own file, tenant-T.hnsw, beside tenant-T.sum: its size, layout and a
 *   checksum) and read back at start instead of being built again. The host
 *   then adds every face of the database: a face whose code is the file's is
 *   confirmed, a new or changed one inserted, and when the host says it is
 *   done (matcher_loaded) the nodes not confirmed — faces erased while the
 *   server was down — are erased as below. Erasure reaches the file too: the
 *   node's code is overwritten with zeros there, and the checksum updated
 *   (it is an XOR of each node's hash, so one node's change is cheap). A
 *   file whose checksum, size or layout is wrong is deleted and the graph
 *   built again from the database; so is one that cannot be updated.
 *   Without persist_dir nothing is written to disk: at start the host loads
 *   the gallery from PostgreSQL and the graphs are built again.
 * - compact (the default): once built and written, a graph is copied into a
 *   lean layout of what a search reads (struct Lean: 285 bytes a face against
 *   hnswlib's 452) and hnswlib's is dropped; a file is read straight into it
 *   at start (read_lean) and reconciled there. In graphs of reverse_links_from
 *   faces and more, each node gets back the links pointing to it that
 *   hnswlib's pruning dropped (Lean::add_reverse; ten million faces: recall@1
 *   0.868 -> 0.972).
 * The host calls a shared instance from every worker: one reader-writer lock
 * (searches share it, changes take it alone). This is the only C++ file of
 * the project: hnswlib is a C++ template library; the plugin ABI stays C. */
extern "C" {
#include <dejaview/plugin.h>
}
#include <hnswlib/hnswlib.h>
#include <dirent.h>
#include <malloc.h>
#include <fcntl.h>
#include <immintrin.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <limits>
#include <mutex>
#include <queue>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr float kScale = 200.0f; /* float component -> int8 code */

/* Memory for the lean layout's large arrays (codes, links, offsets, labels):
 * mapped on its own (page-aligned: a node's 128-byte code then spans two
 * cache lines, not three) and marked for transparent huge pages before it
 * is first written (2 MB pages where the kernel allows them: Debian's
 * default is "madvise", which without this call gives none). At ten million
 * faces on this project's VM, reading the graph's file took 20 s instead of
 * 35-42 (its page faults) and a search ~13% less (docs/scaling.md). Arrays
 * under 4 MB come from the usual allocator. */
template <class T>
struct HugeAlloc {
	using value_type = T;
	static constexpr size_t kFrom = size_t(4) << 20, kPage = size_t(2) << 20;
	HugeAlloc() = default;
	template <class U>
	HugeAlloc(const HugeAlloc<U> &) {}
	static size_t span(size_t n) { return (n * sizeof(T) + kPage - 1) / kPage * kPage; }
	T *allocate(size_t n)
	{
		if (n > std::numeric_limits<size_t>::max() / sizeof(T) / 2)
			throw std::bad_alloc();
		if (n * sizeof(T) < kFrom)
			return std::allocator<T>().allocate(n);
		void *p = mmap(nullptr, span(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			throw std::bad_alloc();
		madvise(p, span(n), MADV_HUGEPAGE); /* advice: without THP, small pages */
		return static_cast<T *>(p);
	}
	void deallocate(T *p, size_t n)
	{
		if (n * sizeof(T) < kFrom)
			std::allocator<T>().deallocate(p, n);
		else
			munmap(p, span(n));
	}
	template <class U>
	bool operator==(const HugeAlloc<U> &) const { return true; }
	template <class U>
	bool operator!=(const HugeAlloc<U> &) const { return false; }
};
template <class T>
using HugeVec = std::vector<T, HugeAlloc<T>>;

/* The lean layout's visited lists: a bit a node (1.25 MB at ten million
 * faces, which stays in the core's caches from one search to the next,
 * where hnswlib's two-byte tags take 20 MB and a walk's checks miss them), a
 * list a concurrent walk. The bits a walk set are cleared when it gives the
 * list back (it notes them as it goes: ~10,000 a walk at ten million). */
struct SeenList {
	std::vector<uint64_t> bits;
	std::vector<uint32_t> set; /* the nodes marked since the walk began */
	SeenList *next = nullptr;  /* in the pool's free list */
	explicit SeenList(size_t n) : bits((n + 63) / 64, 0) {}
	bool test(uint32_t v) const { return (bits[v >> 6] >> (v & 63)) & 1; }
	void mark(uint32_t v)
	{
		bits[v >> 6] |= uint64_t(1) << (v & 63);
		set.push_back(v);
	}
	void reset()
	{
		for (uint32_t v : set)
			bits[v >> 6] = 0;
		set.clear();
	}
};
/* hnswlib's visited list (walks of its own graph), seen as a SeenList */
struct TagSeen {
	hnswlib::vl_type *mass, tag;
	bool test(uint32_t v) const { return mass[v] == tag; }
	void mark(uint32_t v) { mass[v] = tag; }
};
inline TagSeen seen_of(hnswlib::VisitedList *l) { return TagSeen{l->mass, l->curV}; }
inline SeenList &seen_of(SeenList *l) { return *l; }
class SeenPool {
	size_t n_;
	std::mutex mu_;
	SeenList *free_ = nullptr;

      public:
	explicit SeenPool(size_t n) : n_(n) { releaseVisitedList(new SeenList(n)); }
	~SeenPool()
	{
		while (free_)
			delete std::exchange(free_, free_->next);
	}
	SeenPool(const SeenPool &) = delete;
	SeenPool &operator=(const SeenPool &) = delete;
	SeenList *getFreeVisitedList()
	{
		SeenList *l = nullptr;
		{
			std::lock_guard<std::mutex> g(mu_);
			if (free_)
				l = std::exchange(free_, free_->next);
		}
		if (!l)
			l = new SeenList(n_);
		return l;
	}
	void releaseVisitedList(SeenList *l)
	{
		l->reset();
		std::lock_guard<std::mutex> g(mu_);
		l->next = free_;
		free_ = l;
	}
};

/* A node's data: the int8 code, then the residual, two 4-bit steps a byte. */
inline size_t node_bytes(int dim) { return size_t(dim) + size_t(dim + 1) / 2; }

/* Squared L2 between two int8 codes, as hnswlib's space interface wants:
 * AVX-512BW, AVX2 or plain C, picked at start (the distance is most of a
 * build's and a search's time). */
int code_l2_c(const void *a, const void *b, const void *dimp)
{
	const int8_t *x = static_cast<const int8_t *>(a), *y = static_cast<const int8_t *>(b);
	size_t dim = *static_cast<const size_t *>(dimp);
	int s = 0;
	for (size_t i = 0; i < dim; i++) {
		int d = int(x[i]) - int(y[i]);
		s += d * d;
	}
	return s;
}

/* gcc 12's _mm512_reduce_add_epi32 trips -Wuninitialized inside its own header */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512bw,avx512f"))) int code_l2_avx512(const void *a, const void *b, const void *dimp)
{
	const int8_t *x = static_cast<const int8_t *>(a), *y = static_cast<const int8_t *>(b);
	size_t dim = *static_cast<const size_t *>(dimp), i = 0;
	__m512i acc = _mm512_setzero_si512();
	for (; i + 32 <= dim; i += 32) {
		__m512i dx = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + i))),
		    _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(y + i))));
		acc = _mm512_add_epi32(acc, _mm512_madd_epi16(dx, dx));
	}
	int s = _mm512_reduce_add_epi32(acc);
	for (; i < dim; i++) {
		int d = int(x[i]) - int(y[i]);
		s += d * d;
	}
	return s;
}

#pragma GCC diagnostic pop

__attribute__((target("avx2"))) int code_l2_avx2(const void *a, const void *b, const void *dimp)
{
	const int8_t *x = static_cast<const int8_t *>(a), *y = static_cast<const int8_t *>(b);
	size_t dim = *static_cast<const size_t *>(dimp), i = 0;
	__m256i acc = _mm256_setzero_si256();
	for (; i + 16 <= dim; i += 16) {
		__m256i dx = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i))),
		    _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(y + i))));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(dx, dx));
	}
	__m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
	int s = _mm_cvtsi128_si32(h);
	for (; i < dim; i++) {
		int d = int(x[i]) - int(y[i]);
		s += d * d;
	}
	return s;
}

hnswlib::DISTFUNC<int> code_l2 = code_l2_c;
const char *code_isa = "c";

void pick_kernel()
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f")) {
		code_l2 = code_l2_avx512;
		code_isa = "avx512";
	} else if (__builtin_cpu_supports("avx2")) {
		code_l2 = code_l2_avx2;
		code_isa = "avx2";
	}
}

/* The graph's space: a node's data is node_bytes (code and residual); the
 * distance reads the code only. */
class CodeSpace : public hnswlib::SpaceInterface<int> {
public:
	explicit CodeSpace(size_t dim) : dim_(dim) {}
	size_t get_data_size() override { return node_bytes(int(dim_)); }
	hnswlib::DISTFUNC<int> get_dist_func() override { return code_l2; }
	void *get_dist_func_param() override { return &dim_; }

private:
	size_t dim_;
};

/* A vector's int8 code (dim bytes: what the graph's distance reads; a
 * query needs no more). */
void quantise_code(const float *v, int dim, int8_t *out)
{
	for (int i = 0; i < dim; i++) {
		float q = std::nearbyint(v[i] * kScale);
		out[i] = int8_t(q > 127 ? 127 : q < -127 ? -127 : q);
	}
}

/* A face's node data (node_bytes): the code, then the residual of each
 * component in 16 steps of 1/16 of the code's step. */
void quantise(const float *v, int dim, int8_t *out)
{
	quantise_code(v, dim, out);
	uint8_t *res = reinterpret_cast<uint8_t *>(out + dim);
	std::memset(res, 0, size_t(dim + 1) / 2);
	for (int i = 0; i < dim; i++) {
		float r = v[i] * kScale - float(out[i]); /* within +-0.5, unless clipped */
		int b = int(std::floor((r + 0.5f) * 16.0f));
		b = b < 0 ? 0 : b > 15 ? 15 : b;
		res[i / 2] |= uint8_t(b << ((i & 1) * 4));
	}
}

/* The squared distance from a float query to a node's data, the residual
 * added back. */
float refined_l2(const float *q, const int8_t *node, int dim)
{
	const uint8_t *res = reinterpret_cast<const uint8_t *>(node + dim);
	float s = 0;
	for (int i = 0; i < dim; i++) {
		int b = (res[i / 2] >> ((i & 1) * 4)) & 15;
		float d = (float(node[i]) + (float(b) + 0.5f) / 16.0f - 0.5f) / kScale - q[i];
		s += d * d;
	}
	return s;
}

using Graph = hnswlib::HierarchicalNSW<int>;

/* A graph compacted (`compact: true`, the default): hnswlib's graph once
 * built (or read back and reconciled), copied into arrays of what a search
 * reads and nothing else — each node's code and residual, its base-layer
 * links in one array (as many as it has, not m x 2 slots), its label — and
 * the few upper-layer nodes' links apart. Below 2^24 nodes (16.7 million) a
 * base-layer link takes 3 bytes, not 4. hnswlib keeps, besides, a lock
 * (40 bytes), a label-map entry (~40) and a level for every node, and a
 * level-0 block of fixed size: 452 bytes a face against ~280 here. Nodes
 * keep the graph's numbers, which are also the file's (persist_dir), so an
 * erasure zeroes the same node in both. Faces added after the compaction go
 * into a small hnswlib graph beside it (the delta), searched too; a rebuild
 * folds both into one graph again (rebuild_fraction). */
struct Lean {
	size_t n = 0, nb = 0, code_dim = 0; /* nodes; node_bytes; the code's length (the distance's parameter) */
	HugeVec<int8_t> data;               /* n x nb: code, then residual */
	HugeVec<uint32_t> off;              /* n + 1: node i's base links are links off[i] .. off[i + 1] of links0 */
	HugeVec<uint8_t> links0;            /* each lw bytes (little-endian), and 4 bytes of slack at the end */
	size_t lw = 4;
	HugeVec<uint64_t> label;
	HugeVec<uint32_t> by_label; /* node numbers in label order (a face's node by binary search) */
	std::vector<uint64_t> gone;     /* a bit a node: erased (codeless), routes but is never an answer */
	size_t n_gone = 0;
	int maxlevel = 0;
	uint32_t entry = 0;
	std::unordered_map<uint32_t, uint32_t> up_at; /* a node of the upper layers -> its lists in up (level 1 first) */
	std::vector<uint32_t> up;                     /* for each level: a count, then the links */
	std::unique_ptr<SeenPool> visited;

	/* room for n nodes of dim and `links` base links in all */
	void init(size_t nodes, int dim, size_t links)
	{
		n = nodes;
		nb = node_bytes(dim);
		code_dim = size_t(dim);
		lw = n < (size_t(1) << 24) ? 3 : 4;
		data.resize(n * nb);
		off.resize(n + 1);
		label.resize(n);
		gone.assign((n + 63) / 64, 0);
		links0.assign(links * lw + 4, 0);
	}
	/* base link k (counted over all nodes) */
	void set_link(size_t k, uint32_t to) { std::memcpy(&links0[k * lw], &to, lw); /* little-endian: its low bytes */ }
	/* base link k, read back (the 4 bytes of slack make a 4-byte read safe) */
	uint32_t link(size_t k) const
	{
		uint32_t x;
		std::memcpy(&x, &links0[k * lw], 4);
		return lw == 4 ? x : x & 0xffffff;
	}
	/* Once the base links are in: each node's list gains the links that
	 * point to it and that it lacks, up to `cap` links in all (0: none).
	 * hnswlib links a new node to its neighbours and them back to it, but a
	 * neighbour whose list is full prunes it again (its heuristic keeps the
	 * most diverse), and a face can end up with few ways in: the walk from a
	 * query near it then never reaches it. At ten million faces (a graph of
	 * m 16, ef_construction 200) putting those links back, up to 128 a node,
	 * took recall@1 from 0.868 to 0.972 for 17 bytes a face
	 * (docs/scaling.md). Where a node is pointed at by more than its cap
	 * allows (the hubs), those it keeps are chosen by a hash of their
	 * number: neither the oldest nodes nor the nearest first (the nearest
	 * are the ones the heuristic had found redundant). The links pointing to
	 * each node are gathered by a two-level counting sort (by blocks of
	 * 65,536 nodes, then within a block): counting them straight into an
	 * array of all nodes cost a random access a link, ~170 ns on this VM
	 * (37 s at ten million faces for the count alone; ~20 s now in all). */
	void add_reverse(size_t cap)
	{
		if (cap == 0 || n == 0)
			return;
		const size_t total = off[n], blocks = (n + 65535) >> 16;
		/* the links' sources, by block of their target, then by target */
		std::vector<size_t> bat(blocks + 1, 0);
		for (size_t k = 0; k < total; k++)
			bat[(link(k) >> 16) + 1]++;
		for (size_t b = 0; b < blocks; b++)
			bat[b + 1] += bat[b];
		std::vector<uint32_t> from(total);
		std::vector<uint16_t> low(total);
		{
			std::vector<size_t> cur(bat.begin(), bat.end() - 1);
			for (size_t u = 0; u < n; u++)
				for (size_t k = off[u]; k < off[u + 1]; k++) {
					uint32_t v = link(k);
					size_t at = cur[v >> 16]++;
					from[at] = uint32_t(u);
					low[at] = uint16_t(v & 0xffff);
				}
		}
		std::vector<uint32_t> in_off(n + 1, 0), tmp, cnt(65536 + 1);
		for (size_t b = 0; b < blocks; b++) {
			size_t lo = bat[b], hi = bat[b + 1], first = b << 16, last = std::min(n, first + 65536);
			std::fill(cnt.begin(), cnt.end(), 0);
			for (size_t i = lo; i < hi; i++)
				cnt[low[i] + 1]++;
			for (size_t v = 0; v < 65536; v++)
				cnt[v + 1] += cnt[v];
			for (size_t v = first; v < last; v++)
				in_off[v] = uint32_t(lo + cnt[v - first]);
			tmp.resize(hi - lo);
			for (size_t i = lo; i < hi; i++) /* in order of source: each target's list ascends */
				tmp[cnt[low[i]]++] = from[i];
			std::copy(tmp.begin(), tmp.end(), from.begin() + long(lo));
		}
		in_off[n] = uint32_t(total);
		std::vector<uint16_t>().swap(low);
		std::vector<uint32_t>().swap(tmp);
		auto rank = [](uint32_t u) { return uint32_t(u * 2654435761u); };
		/* the new lists' lengths and the links back, then the lists */
		HugeVec<uint32_t> noff(n + 1, 0);
		std::vector<uint32_t> outs, extra;
		auto pick = [&](size_t v) {
			extra.clear();
			outs.clear();
			const size_t have = off[v + 1] - off[v];
			for (size_t k = off[v]; k < off[v + 1]; k++)
				outs.push_back(link(k));
			outs.push_back(uint32_t(v));
			std::sort(outs.begin(), outs.end());
			size_t j = 0; /* both ascend: a merge */
			for (size_t i = in_off[v]; i < in_off[v + 1]; i++) {
				while (j < outs.size() && outs[j] < from[i])
					j++;
				if (j == outs.size() || outs[j] != from[i])
					extra.push_back(from[i]);
			}
			size_t room = cap > have ? cap - have : 0;
			if (extra.size() > room) {
				std::nth_element(extra.begin(), extra.begin() + long(room), extra.end(),
				    [&](uint32_t a, uint32_t b) { return rank(a) < rank(b); });
				extra.resize(room);
			}
			return have + extra.size();
		};
		std::vector<uint32_t> added; /* every node's links back, in node order: those before v are noff[v] - off[v] */
		for (size_t v = 0; v < n; v++) {
			size_t len = pick(v);
			if (size_t(noff[v]) + len >= (size_t(1) << 32))
				throw std::length_error("too many links for 32-bit offsets");
			noff[v + 1] = uint32_t(noff[v] + len);
			added.insert(added.end(), extra.begin(), extra.end());
		}
		std::vector<uint32_t>().swap(from);
		HugeVec<uint8_t> nl(size_t(noff[n]) * lw + 4, 0);
		for (size_t v = 0; v < n; v++) {
			const size_t have = off[v + 1] - off[v], back = noff[v + 1] - noff[v] - have;
			uint8_t *o = &nl[size_t(noff[v]) * lw];
			std::memcpy(o, &links0[size_t(off[v]) * lw], have * lw);
			o += have * lw;
			for (size_t i = noff[v] - off[v], e = i + back; i < e; i++, o += lw)
				std::memcpy(o, &added[i], lw);
		}
		links0.swap(nl);
		off.swap(noff);
	}
	/* once nodes and links are in: the label order and a visited list */
	void finish()
	{
		by_label.resize(n);
		for (size_t i = 0; i < n; i++)
			by_label[i] = uint32_t(i);
		std::sort(by_label.begin(), by_label.end(), [this](uint32_t a, uint32_t b) { return label[a] < label[b]; });
		visited = std::make_unique<SeenPool>(std::max<size_t>(n, 1));
	}
	const int8_t *node(uint32_t i) const { return &data[size_t(i) * nb]; }
	bool erased(uint32_t i) const { return (gone[i >> 6] >> (i & 63)) & 1; }
	void erase(uint32_t i)
	{
		if (erased(i))
			return;
		gone[i >> 6] |= uint64_t(1) << (i & 63);
		n_gone++;
		std::memset(&data[size_t(i) * nb], 0, nb); /* the code itself goes now */
	}
	/* a face's node (erased or not), or -1 */
	long long find(uint64_t id) const
	{
		auto it = std::lower_bound(by_label.begin(), by_label.end(), id,
		    [this](uint32_t a, uint64_t want) { return label[a] < want; });
		return it != by_label.end() && label[*it] == id ? (long long)*it : -1;
	}
	size_t live() const { return n - n_gone; }
	size_t bytes() const
	{
		return data.capacity() + links0.capacity() + (off.capacity() + by_label.capacity() + up.capacity()) * 4 +
		       label.capacity() * 8 + gone.capacity() * 8 + up_at.size() * 32 + up_at.bucket_count() * 8 +
		       (n + 63) / 64 * 8; /* a visited list (one a concurrent search) */
	}
};

/* The lean copy of a graph (its nodes numbered as the graph's). */
std::unique_ptr<Lean> compact_graph(const Graph &gr, int dim)
{
	auto L = std::make_unique<Lean>();
	size_t n = gr.cur_element_count, links = 0;
	for (size_t i = 0; i < n; i++)
		links += gr.getListCount(gr.get_linklist0(hnswlib::tableint(i)));
	L->init(n, dim, links);
	links = 0;
	for (size_t i = 0; i < n; i++) {
		auto v = hnswlib::tableint(i);
		std::memcpy(&L->data[i * L->nb], gr.getDataByInternalId(v), L->nb);
		L->label[i] = gr.getExternalLabel(v);
		unsigned *ll = gr.get_linklist0(v);
		unsigned c = gr.getListCount(ll);
		L->off[i] = uint32_t(links);
		for (unsigned k = 0; k < c; k++)
			L->set_link(links + k, ll[1 + k]);
		links += c;
		if (gr.isMarkedDeleted(v)) {
			L->gone[i >> 6] |= uint64_t(1) << (i & 63);
			L->n_gone++;
		}
		if (gr.element_levels_[i] > 0) {
			L->up_at[uint32_t(i)] = uint32_t(L->up.size());
			for (int level = 1; level <= gr.element_levels_[i]; level++) {
				unsigned *ul = gr.get_linklist(v, level);
				unsigned uc = gr.getListCount(ul);
				L->up.push_back(uc);
				L->up.insert(L->up.end(), ul + 1, ul + 1 + uc);
			}
		}
	}
	L->off[n] = uint32_t(links);
	L->maxlevel = gr.maxlevel_;
	L->entry = gr.enterpoint_node_;
	L->finish();
	return L;
}

/* What walk() reads of a graph, from hnswlib's or from a lean copy. */
struct HnswView {
	const Graph &gr;
	size_t count() const { return gr.cur_element_count; }
	uint32_t entry() const { return gr.enterpoint_node_; }
	int maxlevel() const { return gr.maxlevel_; }
	const uint32_t *upper(uint32_t v, int level, unsigned *n) const
	{
		unsigned *ll = gr.get_linklist(v, level);
		*n = gr.getListCount(ll);
		return ll + 1;
	}
	const uint32_t *base(uint32_t v, unsigned *n, uint32_t *) const
	{
		unsigned *ll = gr.get_linklist0(v);
		*n = gr.getListCount(ll);
		return ll + 1;
	}
	const char *base_ptr(uint32_t v) const { return reinterpret_cast<const char *>(gr.get_linklist0(v)); }
	const int8_t *node(uint32_t v) const { return reinterpret_cast<const int8_t *>(gr.getDataByInternalId(v)); }
	bool any_erased() const { return gr.num_deleted_ > 0; }
	bool erased(uint32_t v) const { return gr.isMarkedDeleted(v); }
	const void *param() const { return gr.dist_func_param_; }
	hnswlib::VisitedListPool *pool() const { return gr.visited_list_pool_; }
};

struct LeanView {
	const Lean &L;
	size_t count() const { return L.n; }
	uint32_t entry() const { return L.entry; }
	int maxlevel() const { return L.maxlevel; }
	const uint32_t *upper(uint32_t v, int level, unsigned *n) const
	{
		auto it = L.up_at.find(v);
		if (it == L.up_at.end()) {
			*n = 0;
			return nullptr;
		}
		const uint32_t *p = &L.up[it->second];
		for (int l = 1; l < level; l++)
			p += 1 + p[0];
		*n = p[0];
		return p + 1;
	}
	/* node v's base links, into buf (room for 1024) when 3 bytes each */
	const uint32_t *base(uint32_t v, unsigned *n, uint32_t *buf) const
	{
		*n = std::min<unsigned>(L.off[v + 1] - L.off[v], 1024);
		const uint8_t *p = &L.links0[size_t(L.off[v]) * L.lw];
		if (L.lw == 4) {
			std::memcpy(buf, p, *n * 4);
			return buf;
		}
		for (unsigned i = 0; i < *n; i++) {
			uint32_t x;
			std::memcpy(&x, p + 3 * i, 4); /* the slack at the end makes the last read safe */
			buf[i] = x & 0xffffff;
		}
		return buf;
	}
	const char *base_ptr(uint32_t v) const { return reinterpret_cast<const char *>(&L.links0[size_t(L.off[v]) * L.lw]); }
	const int8_t *node(uint32_t v) const { return L.node(v); }
	bool any_erased() const { return L.n_gone > 0; }
	bool erased(uint32_t v) const { return L.erased(v); }
	const void *param() const { return &L.code_dim; }
	SeenPool *pool() const { return L.visited.get(); }
};

struct Change { /* made while a build ran: replayed before the swap */
	bool add;
	uint64_t id;
	std::vector<int8_t> code;
};

/* What a tenant's file on disk holds (persist_dir): the nodes below `nodes`
 * are in it, each a block of `block` bytes at kHeader + i x block, its code at
 * `data` within the block; `sum` is the checksum the .sum file states, `stamp`
 * tells this instance's file from one another wrote since. */
struct OnDisk {
	bool valid = false;
	size_t nodes = 0, block = 0, data = 0;
	uint64_t sum = 0, stamp = 0;
};

struct Tenant {
	/* exact while small: float32 rows */
	std::vector<float> vecs;
	std::vector<uint64_t> ids;
	std::unordered_map<uint64_t, size_t> row;
	/* the graph, once built: hnswlib's (`graph`), or once compacted its lean
	 * copy (`lean`) and the faces added since in a small hnswlib graph
	 * (`delta`, not in the file); never both graph and lean */
	std::unique_ptr<CodeSpace> space;
	std::unique_ptr<Graph> graph;
	std::unique_ptr<Lean> lean;
	std::unique_ptr<Graph> delta;
	bool compacting = false;  /* `graph` is being copied: its changes are logged in clog, replayed on the copy */
	std::vector<Change> clog;
	size_t removed = 0; /* codeless nodes in the graph (or in lean and delta) */
	bool building = false;
	std::vector<Change> log;
	/* persistence: the file, the nodes read from it and not yet confirmed
	 * by the host's load, and the changes since the file was written */
	OnDisk disk;
	std::vector<uint8_t> pending;
	size_t n_pending = 0;
	std::vector<hnswlib::tableint> stale; /* nodes whose code changed during the load: zeroed in the file at its end */
	size_t changed = 0;
	bool save_wanted = false;
};

struct Matcher {
	const dv_host *host = nullptr;
	long long exact_below = 20000, m = 16, ef_construction = 400, ef_search = 1600, rerank = 16, build_threads = 1;
	bool compact = true;
	long long reverse_links = 128, reverse_links_from = 2000000;
	double rebuild_fraction = 0.1, persist_fraction = 0.01, stop_ratio = 2.0;
	std::string dir;           /* persist_dir; empty: nothing on disk */
	std::mutex disk_lock;      /* one file operation at a time (and flock across instances) */
	std::atomic<long long> saves{0}, loads{0};
	std::atomic<long long> walks{0}, expanded{0}; /* graph searches, and the nodes they expanded */
	bool dim_from_disk = false; /* dim set by the files, before the host's first vector */
	int dim = 0;
	std::unique_ptr<hnswlib::L2Space> fspace; /* hnswlib's float32 L2 (SIMD), for exact search */
	mutable std::shared_mutex lock;
	std::unordered_map<uint64_t, std::unique_ptr<Tenant>> tenants;
	/* background builds */
	std::mutex jobs_lock;
	std::condition_variable jobs_cv;
	std::vector<uint64_t> jobs;
	bool stopping = false;
	std::thread builder;
	std::atomic<long long> builds{0}, compactions{0};
};

/* the reverse links a graph of `nodes` gets (Lean::add_reverse): none below
 * reverse_links_from */
size_t reverse_cap(const Matcher *m, size_t nodes)
{
	return (long long)nodes >= m->reverse_links_from ? size_t(m->reverse_links) : 0;
}

Tenant *find(Matcher *m, uint64_t t, bool create)
{
	auto it = m->tenants.find(t);
	if (it != m->tenants.end())
		return it->second.get();
	if (!create)
		return nullptr;
	auto p = std::make_unique<Tenant>();
	Tenant *r = p.get();
	m->tenants.emplace(t, std::move(p));
	return r;
}

/* A face in the graph, not erased (hnswlib's own label map says where). */
bool graph_has(const Graph &gr, uint64_t id)
{
	auto it = gr.label_lookup_.find(id);
	return it != gr.label_lookup_.end() && !gr.isMarkedDeleted(it->second);
}

size_t graph_live(const Graph *gr) { return gr ? gr->cur_element_count - gr->num_deleted_ : 0; }

size_t tenant_count(const Tenant &g)
{
	if (g.lean)
		return g.lean->live() + graph_live(g.delta.get());
	return g.graph ? graph_live(g.graph.get()) : g.ids.size();
}

/* A tenant searched through a graph (hnswlib's or lean) */
bool has_graph(const Tenant &g) { return g.graph || g.lean; }

/* Zeroed before they are freed: codes of faces. */
void wipe(Graph *gr)
{
	if (gr)
		std::memset(gr->data_level0_memory_, 0, gr->max_elements_ * gr->size_data_per_element_);
}
void wipe(Lean *L)
{
	if (L)
		std::fill(L->data.begin(), L->data.end(), int8_t(0));
}

void queue_build(Matcher *m, uint64_t tenant, Tenant *g)
{
	if (g->building)
		return;
	g->building = true;
	g->log.clear();
	std::lock_guard<std::mutex> l(m->jobs_lock);
	m->jobs.push_back(tenant);
	m->jobs_cv.notify_one();
}

/* Into a graph: insert (growing it as needed), or replace a face's code in
 * its node (hnswlib updates a known label in place: the old code is gone). */
void graph_add(Graph &gr, uint64_t id, const int8_t *code)
{
	if (gr.label_lookup_.find(id) == gr.label_lookup_.end() && gr.cur_element_count >= gr.max_elements_)
		gr.resizeIndex(gr.max_elements_ + gr.max_elements_ / 8 + 64); /* an eighth more: memory is the limit */
	gr.addPoint(code, id);
}

void graph_erase(Graph &gr, uint64_t id)
{
	auto it = gr.label_lookup_.find(id);
	if (it == gr.label_lookup_.end())
		return;
	/* the code itself goes now; the node is dropped by the next rebuild */
	std::memset(gr.getDataByInternalId(it->second), 0, gr.data_size_);
	gr.markDelete(id);
}

/* The graph's `want` nearest nodes to a query code, nearest first: the
 * descent through the upper layers as hnswlib's searchKnn, then a level-0
 * walk of our own. It keeps hnswlib's beam (the `ef` nearest found; a node is
 * expanded while it is nearer than the farthest of them), with two changes:
 * - stop_ratio: the walk also ends once the next node to expand is farther
 *   than stop_ratio times the nearest found (squared code distances) and
 *   than the `asked`-th nearest found (the host's k: a beam of k at least
 *   for the rest of its answer). A face whose match is in the gallery is
 *   found early: nodes that much farther than it lead to nothing nearer, and
 *   a wide beam (ef 1600) then costs a face with a near match little more
 *   than a narrow one. A face with no near match (a stranger in a dense
 *   gallery) ends by the beam's rule, as without it. 0: the beam's rule
 *   alone (searchKnn's).
 * - each node's unvisited neighbours are prefetched together before their
 *   distances are taken (searchKnn fetches one ahead): the walk waits on
 *   memory, and many requests in flight wait less.
 * Erased nodes route the walk but never enter the results. The caller holds
 * the tenant's lock shared (no change meanwhile); a pool of visited lists
 * (the lean layout's, or hnswlib's for its own graphs) serves concurrent
 * walks. */
template <class Pool>
struct SeenHeld { /* a visited list, back to its pool however the walk ends (bad_alloc included) */
	Pool *pool;
	decltype(pool->getFreeVisitedList()) vl;
	~SeenHeld() { pool->releaseVisitedList(vl); }
};

template <class View>
std::vector<std::pair<int, hnswlib::tableint>> walk(const View &gr, const int8_t *q, size_t ef, size_t want, size_t asked,
    double stop, long long *expanded)
{
	using hnswlib::tableint;
	using Hit = std::pair<int, tableint>;
	std::vector<Hit> out;
	if (gr.count() == 0)
		return out;
	const void *param = gr.param();
	auto dist = [&](tableint v) { return code_l2(q, gr.node(v), param); };
	tableint cur = gr.entry();
	int cd = dist(cur);
	for (int level = gr.maxlevel(); level > 0; level--) {
		for (bool moved = true; moved;) {
			moved = false;
			unsigned n;
			const tableint *nb = gr.upper(cur, level, &n);
			for (unsigned i = 0; i < n; i++) {
				int d = dist(nb[i]);
				if (d < cd) {
					cd = d;
					cur = nb[i];
					moved = true;
				}
			}
		}
	}
	ef = std::max(ef, want);
	SeenHeld<std::remove_pointer_t<decltype(gr.pool())>> held{gr.pool(), gr.pool()->getFreeVisitedList()};
	auto &&seen = seen_of(held.vl);
	std::priority_queue<Hit> top;                                    /* the ef nearest found, farthest on top */
	std::priority_queue<Hit, std::vector<Hit>, std::greater<Hit>> next; /* to expand, nearest on top */
	std::priority_queue<int> wanted; /* the `asked` nearest distances found, the farthest on top */
	asked = std::max<size_t>(1, std::min(asked, want));
	const bool erased = gr.any_erased();
	int best = std::numeric_limits<int>::max(), worst = best;
	auto keep = [&](int d, tableint v) {
		next.emplace(d, v);
		if (erased && gr.erased(v))
			return;
		top.emplace(d, v);
		if (top.size() > ef)
			top.pop();
		worst = top.top().first;
		best = std::min(best, d);
		wanted.push(d);
		if (wanted.size() > asked)
			wanted.pop();
	};
	seen.mark(cur);
	keep(cd, cur);
	const size_t code_bytes = size_t(*static_cast<const size_t *>(param));
	tableint fresh[1024], links[1024];
	while (!next.empty()) {
		auto [d, u] = next.top();
		if (top.size() >= ef && d > worst)
			break;
		if (stop > 0 && wanted.size() >= asked && top.size() >= want && double(d) > stop * double(best) &&
		    d > wanted.top())
			break;
		next.pop();
		++*expanded;
		unsigned n;
		const tableint *nb = gr.base(u, &n, links);
		n = std::min<unsigned>(n, sizeof fresh / sizeof *fresh);
		unsigned m = 0;
		for (unsigned i = 0; i < n; i++) {
			if (seen.test(nb[i]))
				continue;
			fresh[m++] = nb[i];
			/* the code's cache lines (two where the nodes are aligned: the lean layout's) */
			const uintptr_t c = reinterpret_cast<uintptr_t>(gr.node(nb[i]));
			for (uintptr_t line = c & ~uintptr_t(63); line < c + code_bytes; line += 64)
				_mm_prefetch(reinterpret_cast<const char *>(line), _MM_HINT_T0);
		}
		if (!next.empty())
			_mm_prefetch(gr.base_ptr(next.top().second), _MM_HINT_T0);
		for (unsigned i = 0; i < m; i++) {
			tableint v = fresh[i];
			seen.mark(v);
			int dv = dist(v);
			if (top.size() < ef || dv < worst)
				keep(dv, v);
		}
		if (m && !next.empty()) /* the next to expand may be one just found */
			_mm_prefetch(gr.base_ptr(next.top().second), _MM_HINT_T0);
	}
	while (top.size() > want)
		top.pop();
	out.resize(top.size());
	for (size_t i = out.size(); i-- > 0; top.pop())
		out[i] = top.top();
	return out;
}

/* ---- persistence (persist_dir) ----
 * hnswlib 0.6.2's saveIndex writes a header of 13 fields (offsetLevel0_,
 * max_elements_, cur_element_count, size_data_per_element_, label_offset_,
 * offsetData_: size_t; maxlevel_: int; enterpoint_node_: tableint; maxM_,
 * maxM0_, M_: size_t; mult_: double; ef_construction_: size_t), then each
 * node's level-0 block (its links, its data — our code and residual — and
 * its label), then each node's upper links with their size. */
constexpr size_t kHeader = 6 * sizeof(size_t) + sizeof(int) + sizeof(hnswlib::tableint) + 3 * sizeof(size_t) +
                           sizeof(double) + sizeof(size_t);
static_assert(kHeader == 96, "hnswlib 0.6.2's file header");

uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* A part's hash, seeded with its place (a node's number; the header and the
 * tail have seeds of their own). The file's checksum is the XOR of its parts'
 * hashes, so that zeroing one node's code updates it with that node alone. */
uint64_t part_hash(uint64_t seed, const char *p, size_t n)
{
	uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
	size_t k = 0;
	for (; k + 8 <= n; k += 8) {
		uint64_t w;
		std::memcpy(&w, p + k, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; k < n; k++)
		h = (h ^ uint8_t(p[k])) * 0x100000001b3ULL;
	return mix64(h ^ n);
}
constexpr uint64_t kSeedHeader = ~0ULL, kSeedTail = ~1ULL;

/* All of n bytes at `at`, read or written (pread/pwrite go short, or are
 * interrupted, on some files). */
bool io_all(int fd, char *p, size_t n, off_t at, bool write)
{
	while (n) {
		ssize_t r = write ? pwrite(fd, p, n, at) : pread(fd, p, n, at);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return false;
		}
		p += r;
		n -= size_t(r);
		at += r;
	}
	return true;
}
bool pread_all(int fd, char *p, size_t n, off_t at) { return io_all(fd, p, n, at, false); }
bool pwrite_all(int fd, const char *p, size_t n, off_t at) { return io_all(fd, const_cast<char *>(p), n, at, true); }

/* The checksum of an index file as it is on disk, and its layout from its
 * header; false if it is short or not laid out as a graph of ours. */
bool file_sum(int fd, OnDisk &d, off_t &size)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || size_t(st.st_size) < kHeader)
		return false;
	char hdr[kHeader];
	if (!pread_all(fd, hdr, kHeader, 0))
		return false;
	size_t count, block, data;
	std::memcpy(&count, hdr + 2 * sizeof(size_t), sizeof count);
	std::memcpy(&block, hdr + 3 * sizeof(size_t), sizeof block);
	std::memcpy(&data, hdr + 5 * sizeof(size_t), sizeof data);
	if (block == 0 || block > (1u << 20) || data >= block || count > (size_t(st.st_size) - kHeader) / block)
		return false;
	uint64_t sum = part_hash(kSeedHeader, hdr, kHeader);
	const size_t per = std::max<size_t>(1, (size_t(4) << 20) / block);
	std::vector<char> buf(per * block);
	for (size_t i = 0; i < count; i += per) {
		size_t k = std::min(per, count - i);
		if (!pread_all(fd, buf.data(), k * block, off_t(kHeader + i * block)))
			return false;
		for (size_t j = 0; j < k; j++)
			sum ^= part_hash(i + j, &buf[j * block], block);
	}
	size_t at = kHeader + count * block, rest = size_t(st.st_size) - at;
	std::vector<char> tail(rest);
	if (rest && !pread_all(fd, tail.data(), rest, off_t(at)))
		return false;
	sum ^= part_hash(kSeedTail, tail.data(), rest);
	d.nodes = count;
	d.block = block;
	d.data = data;
	d.sum = sum;
	size = st.st_size;
	return true;
}

std::string disk_path(const Matcher *m, uint64_t tenant, const char *ext)
{
	return m->dir + "/tenant-" + std::to_string(tenant) + ext;
}

void sync_dir(const Matcher *m)
{
	int fd = open(m->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The .sum file: what the index file must be, in words a person can read. */
bool write_sum(const std::string &path, const OnDisk &d, off_t bytes, int dim)
{
	char text[512];
	int n = snprintf(text, sizeof text,
	    "dejaview match_hnsw index 1\ndim %d\nscale %g\nnode_bytes %zu\nbytes %lld\nnodes %zu\nblock %zu\ndata %zu\n"
	    "sum %016llx\nstamp %016llx\n",
	    dim, double(kScale), node_bytes(dim), (long long)bytes, d.nodes, d.block, d.data, (unsigned long long)d.sum,
	    (unsigned long long)d.stamp);
	std::string tmp = path + ".tmp";
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = pwrite_all(fd, text, size_t(n), 0) && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp.c_str(), path.c_str()) == 0)
		return true;
	unlink(tmp.c_str());
	return false;
}

bool read_sum(const std::string &path, OnDisk &d, off_t &bytes, int &dim)
{
	FILE *f = std::fopen(path.c_str(), "re");
	if (!f)
		return false;
	char line[128];
	int version = 0, got = 0;
	double scale = 0;
	size_t nb = 0;
	unsigned long long sum = 0, stamp = 0;
	long long b = -1;
	while (std::fgets(line, sizeof line, f)) {
		got += std::sscanf(line, "dejaview match_hnsw index %d", &version) == 1;
		got += std::sscanf(line, "dim %d", &dim) == 1;
		got += std::sscanf(line, "scale %lf", &scale) == 1;
		got += std::sscanf(line, "node_bytes %zu", &nb) == 1;
		got += std::sscanf(line, "bytes %lld", &b) == 1;
		got += std::sscanf(line, "nodes %zu", &d.nodes) == 1;
		got += std::sscanf(line, "block %zu", &d.block) == 1;
		got += std::sscanf(line, "data %zu", &d.data) == 1;
		got += std::sscanf(line, "sum %llx", &sum) == 1;
		got += std::sscanf(line, "stamp %llx", &stamp) == 1;
	}
	std::fclose(f);
	d.sum = sum;
	d.stamp = stamp;
	bytes = off_t(b);
	return got == 10 && version == 1 && scale == double(kScale) && dim > 0 && dim <= 4096 &&
	       nb == node_bytes(dim);
}

/* Files of persist_dir are written by one instance at a time: a reload's
 * new instance may start while the old one is still there. */
class DirLock {
public:
	explicit DirLock(const Matcher *m)
	{
		fd_ = open((m->dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd_ >= 0)
			while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
			}
	}
	~DirLock()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	DirLock(const DirLock &) = delete;
	DirLock &operator=(const DirLock &) = delete;

private:
	int fd_;
};

/* A tenant's files deleted (why: logged, unless null); g, when given, no
 * longer has a file. */
void drop_files(Matcher *m, uint64_t tenant, Tenant *g, const char *why)
{
	unlink(disk_path(m, tenant, ".hnsw").c_str());
	unlink(disk_path(m, tenant, ".sum").c_str());
	sync_dir(m);
	if (why && (!g || g->disk.valid))
		m->host->log(m->host, DV_LOG_WARN,
		    "match_hnsw tenant=%llu: its index file is deleted (%s); its graph is built from the database when needed",
		    (unsigned long long)tenant, why);
	if (g)
		g->disk = OnDisk{};
}

/* Erasure on disk: the nodes' codes in the tenant's file are overwritten with
 * zeros and its checksum updated (m->lock held alone). A file that cannot
 * be updated, or that another instance has written since, is deleted: an
 * erased face's code must not stay on disk. */
void forget_on_disk(Matcher *m, uint64_t tenant, Tenant &g, const std::vector<hnswlib::tableint> &nodes)
{
	if (!g.disk.valid)
		return;
	std::vector<hnswlib::tableint> in;
	for (hnswlib::tableint n : nodes)
		if (n < g.disk.nodes)
			in.push_back(n);
	if (in.empty())
		return;
	std::lock_guard<std::mutex> l(m->disk_lock);
	DirLock dl(m);
	std::string hp = disk_path(m, tenant, ".hnsw"), sp = disk_path(m, tenant, ".sum");
	OnDisk cur;
	off_t bytes;
	int dim = 0;
	if (!read_sum(sp, cur, bytes, dim) || cur.stamp != g.disk.stamp || cur.sum != g.disk.sum) {
		drop_files(m, tenant, &g, "written by another instance since");
		return;
	}
	int fd = open(hp.c_str(), O_RDWR | O_CLOEXEC);
	bool ok = fd >= 0;
	uint64_t sum = g.disk.sum;
	std::vector<char> b(g.disk.block);
	size_t code = node_bytes(m->dim);
	for (size_t i = 0; ok && i < in.size(); i++) {
		off_t at = off_t(kHeader + size_t(in[i]) * g.disk.block);
		ok = pread_all(fd, b.data(), b.size(), at);
		if (!ok || std::all_of(&b[g.disk.data], &b[g.disk.data + code], [](char c) { return c == 0; }))
			continue;
		uint64_t before = part_hash(in[i], b.data(), b.size());
		std::memset(&b[g.disk.data], 0, code);
		sum ^= before ^ part_hash(in[i], b.data(), b.size());
		ok = pwrite_all(fd, b.data(), b.size(), at);
	}
	ok = ok && fdatasync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	OnDisk next = g.disk;
	next.sum = sum;
	if (ok && write_sum(sp, next, bytes, m->dim)) {
		g.disk = next;
		sync_dir(m);
		return;
	}
	drop_files(m, tenant, &g, "it could not be updated after an erasure");
}

/* Write a tenant's graph to persist_dir (m->lock held, shared at least: the
 * graph does not change meanwhile). */
bool save_graph(Matcher *m, uint64_t tenant, Tenant &g)
{
	if (m->dir.empty() || !g.graph)
		return false;
	auto t0 = std::chrono::steady_clock::now();
	std::lock_guard<std::mutex> l(m->disk_lock);
	DirLock dl(m);
	std::string hp = disk_path(m, tenant, ".hnsw"), sp = disk_path(m, tenant, ".sum"), tmp = hp + ".tmp";
	const Graph &gr = *g.graph;
	size_t want = kHeader + gr.cur_element_count * (gr.size_data_per_element_ + sizeof(unsigned int));
	for (size_t i = 0; i < gr.cur_element_count; i++)
		want += gr.element_levels_[i] > 0 ? gr.size_links_per_element_ * size_t(gr.element_levels_[i]) : 0;
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* created private */
	if (fd >= 0)
		close(fd);
	bool ok = fd >= 0;
	try {
		if (ok)
			g.graph->saveIndex(tmp);
	} catch (...) {
		ok = false;
	}
	OnDisk d;
	off_t size = 0;
	fd = ok ? open(tmp.c_str(), O_RDONLY | O_CLOEXEC) : -1;
	ok = fd >= 0 && fsync(fd) == 0 && file_sum(fd, d, size) && size_t(size) == want && d.nodes == gr.cur_element_count;
	if (fd >= 0)
		close(fd);
	std::random_device rd;
	d.stamp = (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
	/* the index into place, then its .sum: a crash between the two leaves a
	 * pair whose checksums differ, which the next start deletes */
	ok = ok && rename(tmp.c_str(), hp.c_str()) == 0 && write_sum(sp, d, size, m->dim);
	if (!ok) {
		unlink(tmp.c_str());
		drop_files(m, tenant, &g, nullptr);
		m->host->log(m->host, DV_LOG_WARN,
		    "match_hnsw tenant=%llu: its graph could not be written to %s (%s); it is built again at the next start",
		    (unsigned long long)tenant, m->dir.c_str(), std::strerror(errno));
		return false;
	}
	sync_dir(m);
	d.valid = true;
	g.disk = d;
	g.changed = 0;
	m->saves++;
	m->host->log(m->host, DV_LOG_INFO, "match_hnsw graph written tenant=%llu faces=%zu bytes=%lld ms=%lld",
	    (unsigned long long)tenant, tenant_count(g), (long long)size,
	    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
	return true;
}

/* A graph file read straight into the lean layout (compact: true), without
 * hnswlib's graph in between: at ten million faces that would be 4.5 GB on
 * top of the lean 2.8 for the time of the read. The file's layout (kHeader's
 * comment) was checked against its .sum already; what does not add up here
 * throws. A node marked deleted, or whose code is zeros, is erased. */
std::unique_ptr<Lean> read_lean(const std::string &path, int dim, size_t reverse)
{
	struct File {
		FILE *f;
		~File() { std::fclose(f); }
	} in{std::fopen(path.c_str(), "rbe")};
	if (!in.f)
		throw std::runtime_error("it cannot be opened");
	std::vector<char> buf(size_t(4) << 20);
	std::setvbuf(in.f, nullptr, _IOFBF, size_t(1) << 20);
	auto get = [&](void *p, size_t n) {
		if (std::fread(p, 1, n, in.f) != n)
			throw std::runtime_error("it is shorter than its header says");
	};
	char hdr[kHeader];
	get(hdr, kHeader);
	size_t f[6], maxM, maxM0;
	int maxlevel;
	hnswlib::tableint entry;
	std::memcpy(f, hdr, sizeof f);
	std::memcpy(&maxlevel, hdr + 48, sizeof maxlevel);
	std::memcpy(&entry, hdr + 52, sizeof entry);
	std::memcpy(&maxM, hdr + 56, sizeof maxM);
	std::memcpy(&maxM0, hdr + 64, sizeof maxM0);
	const size_t n = f[2], block = f[3], label_at = f[4], data_at = f[5], nb = node_bytes(dim);
	const size_t links_level0 = maxM0 * 4 + 4, links_upper = maxM * 4 + 4;
	if (f[0] != 0 || data_at != links_level0 || label_at != data_at + nb || block != label_at + sizeof(uint64_t) ||
	    maxM0 > 1024 || maxM > 1024 || maxM == 0 || (n && entry >= n) || maxlevel < 0 || n >= (size_t(1) << 32))
		throw std::runtime_error("its layout is not this version's");
	auto L = std::make_unique<Lean>();
	L->maxlevel = maxlevel;
	L->entry = entry;
	/* the base layer twice: the links counted, then copied */
	const size_t per = std::max<size_t>(1, buf.size() / block);
	const long start = std::ftell(in.f);
	size_t links = 0;
	for (size_t i = 0; i < n; i += per) {
		size_t k = std::min(per, n - i);
		get(buf.data(), k * block);
		for (size_t j = 0; j < k; j++) {
			uint16_t c;
			std::memcpy(&c, &buf[j * block], 2);
			if (c > maxM0)
				throw std::runtime_error("a node has more links than its layout holds");
			links += c;
		}
	}
	if (std::fseek(in.f, start, SEEK_SET) != 0)
		throw std::runtime_error("it cannot be read twice");
	L->init(n, dim, links);
	links = 0;
	for (size_t i = 0; i < n; i += per) {
		size_t k = std::min(per, n - i);
		get(buf.data(), k * block);
		for (size_t j = 0; j < k; j++) {
			const char *b = &buf[j * block];
			size_t v = i + j;
			uint16_t c;
			std::memcpy(&c, b, 2);
			L->off[v] = uint32_t(links);
			for (unsigned e = 0; e < c; e++) {
				uint32_t to;
				std::memcpy(&to, b + 4 + 4 * e, 4);
				if (to >= n)
					throw std::runtime_error("a link points past the last node");
				L->set_link(links + e, to);
			}
			links += c;
			std::memcpy(&L->data[v * nb], b + data_at, nb);
			std::memcpy(&L->label[v], b + label_at, sizeof(uint64_t));
			bool zero = std::all_of(b + data_at, b + data_at + nb, [](char x) { return x == 0; });
			if ((uint8_t(b[2]) & 1) || zero) { /* hnswlib's deleted mark, or a code erased in the file */
				L->gone[v >> 6] |= uint64_t(1) << (v & 63);
				L->n_gone++;
				std::memset(&L->data[v * nb], 0, nb);
			}
		}
	}
	L->off[n] = uint32_t(links);
	/* the upper layers: a size a node, then its lists level by level */
	std::vector<uint32_t> lists;
	for (size_t v = 0; v < n; v++) {
		uint32_t size;
		get(&size, 4);
		if (!size)
			continue;
		if (size % links_upper || size / links_upper > size_t(maxlevel))
			throw std::runtime_error("a node's upper links are not of its layout");
		lists.resize(size / 4);
		get(lists.data(), size);
		L->up_at[uint32_t(v)] = uint32_t(L->up.size());
		for (size_t level = 0; level < size / links_upper; level++) {
			const uint32_t *ll = &lists[level * (links_upper / 4)];
			uint32_t c = ll[0] & 0xffff;
			if (c > maxM)
				throw std::runtime_error("a node has more links than its layout holds");
			L->up.push_back(c);
			for (uint32_t e = 0; e < c; e++) {
				if (ll[1 + e] >= n)
					throw std::runtime_error("a link points past the last node");
				L->up.push_back(ll[1 + e]);
			}
		}
	}
	char extra;
	if (std::fread(&extra, 1, 1, in.f) != 0)
		throw std::runtime_error("it is longer than its layout says");
	if (maxlevel > 0 && n && !L->up_at.count(entry))
		throw std::runtime_error("its entry point has no upper links");
	L->add_reverse(reverse);
	L->finish();
	return L;
}

/* At start: each tenant's graph read back from persist_dir, its nodes
 * waiting for the host's load to confirm them. A file that is not exactly
 * what its .sum says is deleted (the graph is then built from the database);
 * so are the leftovers of a write cut short. */
void load_all(Matcher *m)
{
	if (mkdir(m->dir.c_str(), 0700) != 0 && errno != EEXIST) {
		m->host->log(m->host, DV_LOG_WARN, "match_hnsw persist_dir %s: %s; graphs are not kept across restarts",
		    m->dir.c_str(), std::strerror(errno));
		m->dir.clear();
		return;
	}
	struct stat ds;
	if (stat(m->dir.c_str(), &ds) == 0 && (ds.st_mode & 077)) {
		/* the files hold codes of faces: nobody else's to read */
		bool fixed = chmod(m->dir.c_str(), 0700) == 0;
		m->host->log(m->host, fixed ? DV_LOG_INFO : DV_LOG_WARN, "match_hnsw persist_dir %s was open to others (0%o): %s",
		    m->dir.c_str(), unsigned(ds.st_mode & 0777), fixed ? "now 0700" : std::strerror(errno));
	}
	std::lock_guard<std::mutex> l(m->disk_lock);
	DirLock dl(m);
	DIR *dir = opendir(m->dir.c_str());
	if (!dir)
		return;
	std::vector<std::string> leftovers;
	std::vector<uint64_t> tenants;
	while (struct dirent *e = readdir(dir)) {
		unsigned long long t;
		int end = 0;
		std::string name = e->d_name;
		if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0)
			leftovers.push_back(name);
		else if (std::sscanf(e->d_name, "tenant-%llu.hnsw%n", &t, &end) == 1 && size_t(end) == name.size())
			tenants.push_back(t);
	}
	closedir(dir);
	for (auto &name : leftovers)
		unlink((m->dir + "/" + name).c_str());
	for (uint64_t t : tenants) {
		auto t0 = std::chrono::steady_clock::now();
		std::string hp = disk_path(m, t, ".hnsw"), sp = disk_path(m, t, ".sum");
		OnDisk want, got;
		off_t bytes = 0, size = 0;
		int dim = 0;
		const char *why = nullptr;
		int fd = open(hp.c_str(), O_RDONLY | O_CLOEXEC);
		if (!read_sum(sp, want, bytes, dim))
			why = "its .sum file is missing or not ours";
		else if (m->dim && dim != m->dim)
			why = "its vectors are of another dimension";
		else if (fd < 0 || !file_sum(fd, got, size))
			why = "it cannot be read";
		else if (size != bytes || got.sum != want.sum || got.nodes != want.nodes || got.block != want.block ||
		         got.data != want.data)
			why = "its checksum or size is not the one written";
		if (fd >= 0)
			close(fd);
		std::unique_ptr<CodeSpace> space;
		std::unique_ptr<Graph> gr;
		std::unique_ptr<Lean> lean;
		if (!why && m->compact) {
			try {
				space = std::make_unique<CodeSpace>(size_t(dim));
				lean = read_lean(hp, dim, reverse_cap(m, want.nodes));
				if (lean->n != want.nodes)
					why = "its node count is not the one written";
			} catch (const std::bad_alloc &) {
				why = "there is not enough memory to read it";
			} catch (const std::exception &e) {
				why = e.what();
			}
		} else if (!why) {
			try {
				space = std::make_unique<CodeSpace>(size_t(dim));
				gr = std::make_unique<Graph>(space.get(), hp, false, want.nodes + want.nodes / 8 + 64);
				if (gr->data_size_ != node_bytes(dim) || gr->offsetData_ != want.data ||
				    gr->size_data_per_element_ != want.block)
					why = "its layout is not this version's";
			} catch (const std::exception &) {
				why = "hnswlib cannot read it";
			}
		}
		if (why) {
			drop_files(m, t, nullptr, why);
			continue;
		}
		Tenant *g = find(m, t, true);
		if (lean) {
			/* every live node waits for the host's load to confirm it */
			g->pending.assign(lean->n, 0);
			g->n_pending = 0;
			for (uint32_t i = 0; i < lean->n; i++)
				if (!lean->erased(i)) {
					g->pending[i] = 1;
					g->n_pending++;
				}
			g->removed = lean->n_gone;
			g->lean = std::move(lean);
		} else {
			gr->num_deleted_ = 0; /* hnswlib's loading constructor counts from an unset value */
			g->pending.assign(gr->cur_element_count, 0);
			g->n_pending = 0;
			for (size_t i = 0; i < gr->cur_element_count; i++) {
				const char *d = gr->getDataByInternalId(hnswlib::tableint(i));
				bool zero = std::all_of(d, d + gr->data_size_, [](char c) { return c == 0; });
				if (zero && !gr->isMarkedDeleted(hnswlib::tableint(i)))
					gr->markDelete(gr->getExternalLabel(hnswlib::tableint(i)));
				else if (gr->isMarkedDeleted(hnswlib::tableint(i)))
					gr->num_deleted_++;
				else {
					g->pending[i] = 1;
					g->n_pending++;
				}
			}
			g->removed = gr->num_deleted_;
			g->graph = std::move(gr);
		}
		g->space = std::move(space);
		want.valid = true;
		g->disk = want;
		if (!m->dim) {
			m->dim = dim;
			m->fspace = std::make_unique<hnswlib::L2Space>(size_t(dim));
			m->dim_from_disk = true;
		}
		m->loads++;
		m->host->log(m->host, DV_LOG_INFO, "match_hnsw graph read tenant=%llu faces=%zu bytes=%lld ms=%lld",
		    (unsigned long long)t, g->n_pending, (long long)size,
		    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
		        .count());
	}
}

/* A node read from the file is accounted for (added again, or erased). */
void settle(Tenant &g, hnswlib::tableint at)
{
	if (at < g.pending.size() && g.pending[at]) {
		g.pending[at] = 0;
		g.n_pending--;
	}
}

/* The builder thread looks at the tenant: its graph is compacted if it
 * should be (compact_tenant). */
void queue_compact(Matcher *m, uint64_t tenant)
{
	if (!m->compact)
		return;
	std::lock_guard<std::mutex> l(m->jobs_lock);
	m->jobs.push_back(tenant);
	m->jobs_cv.notify_one();
}

void queue_save(Matcher *m, uint64_t tenant, Tenant *g)
{
	if (m->dir.empty() || g->save_wanted || g->building)
		return;
	g->save_wanted = true;
	std::lock_guard<std::mutex> l(m->jobs_lock);
	m->jobs.push_back(tenant);
	m->jobs_cv.notify_one();
}

/* One build: a graph of the tenant's live faces as of the snapshot, then the
 * changes made meanwhile, then the swap. Runs on the builder thread. */
void build(Matcher *m, uint64_t tenant)
{
	auto t0 = std::chrono::steady_clock::now();
	std::vector<uint64_t> ids;
	std::vector<int8_t> codes;
	int dim;
	size_t seen; /* the changes logged before the snapshot are in it */
	{
		std::shared_lock<std::shared_mutex> r(m->lock);
		Tenant *g = find(m, tenant, false);
		if (!g)
			return;
		dim = m->dim;
		seen = g->log.size();
		auto take = [&](const Graph &gr) {
			for (auto &kv : gr.label_lookup_) {
				if (gr.isMarkedDeleted(kv.second))
					continue;
				ids.push_back(kv.first);
				const int8_t *c = reinterpret_cast<const int8_t *>(gr.getDataByInternalId(kv.second));
				codes.insert(codes.end(), c, c + node_bytes(dim));
			}
		};
		if (g->lean) {
			const Lean &L = *g->lean;
			ids.reserve(tenant_count(*g));
			codes.reserve(tenant_count(*g) * L.nb);
			for (uint32_t i = 0; i < L.n; i++)
				if (!L.erased(i)) {
					ids.push_back(L.label[i]);
					codes.insert(codes.end(), L.node(i), L.node(i) + L.nb);
				}
			if (g->delta)
				take(*g->delta);
		} else if (g->graph) {
			take(*g->graph);
		} else {
			codes.resize(g->ids.size() * node_bytes(dim));
			for (size_t i = 0; i < g->ids.size(); i++)
				quantise(&g->vecs[i * dim], dim, &codes[i * node_bytes(dim)]);
			ids = g->ids;
		}
	}
	auto space = std::make_unique<CodeSpace>(size_t(dim));
	auto gr = std::make_unique<Graph>(space.get(), std::max<size_t>(ids.size() + ids.size() / 16, 1024), size_t(m->m),
	    size_t(m->ef_construction), 42);
	/* The faces go in in a shuffled order (a fixed seed: the same gallery
	 * gives the same graph). A graph's first nodes keep fewer ways in: their
	 * neighbours' lists fill up later and prune them. In the host's order
	 * those are the oldest faces, at every rebuild; shuffled, no group of
	 * faces is worse off than another (a million faces, the bench's real
	 * faces inserted first: recall@1 0.983 by the beam's rule at ef 200;
	 * spread among the others: 0.997 — docs/scaling.md). */
	std::vector<uint32_t> order(ids.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = uint32_t(i);
	std::shuffle(order.begin(), order.end(), std::mt19937_64(0x5eed ^ ids.size()));
	/* build_threads insert at once (hnswlib locks per node); the first alone,
	 * so that the others have an entry point */
	size_t nb = node_bytes(dim);
	if (!ids.empty())
		gr->addPoint(&codes[size_t(order[0]) * nb], ids[order[0]]);
	std::atomic<size_t> next{1};
	std::atomic<bool> failed{false};
	auto insert = [&] {
		try {
			for (size_t i; !failed && (i = next++) < ids.size();)
				gr->addPoint(&codes[size_t(order[i]) * nb], ids[order[i]]);
		} catch (...) {
			failed = true;
		}
	};
	std::vector<std::thread> helpers;
	for (long long t = 1; t < m->build_threads && ids.size() > 1000; t++)
		helpers.emplace_back(insert);
	insert();
	for (auto &h : helpers)
		h.join();
	if (failed)
		throw std::runtime_error("an insert failed");
	std::unique_lock<std::shared_mutex> w(m->lock);
	Tenant *g = find(m, tenant, false);
	if (!g)
		return;
	size_t removed = 0;
	for (size_t i = seen; i < g->log.size(); i++) {
		const Change &c = g->log[i];
		if (c.add) {
			if (gr->label_lookup_.count(c.id) && !graph_has(*gr, c.id))
				removed--; /* a codeless node taken again */
			graph_add(*gr, c.id, c.code.data());
		} else if (graph_has(*gr, c.id)) {
			graph_erase(*gr, c.id);
			removed++;
		}
	}
	g->log.clear();
	g->removed = removed;
	/* the old file numbers its nodes as the old graph did: it goes now, and
	 * the new graph is written after the swap (builder_main) */
	if (g->disk.valid)
		drop_files(m, tenant, g, nullptr);
	g->save_wanted = !m->dir.empty();
	/* the old graph and exact rows go, their vectors zeroed first */
	wipe(g->graph.get());
	wipe(g->lean.get());
	wipe(g->delta.get());
	g->lean.reset();
	g->delta.reset();
	std::fill(g->vecs.begin(), g->vecs.end(), 0.0f);
	std::vector<float>().swap(g->vecs);
	std::vector<uint64_t>().swap(g->ids);
	std::unordered_map<uint64_t, size_t>().swap(g->row);
	g->graph = std::move(gr);
	g->space = std::move(space);
	g->building = false;
	m->builds++;
	m->host->log(m->host, DV_LOG_INFO, "match_hnsw graph built tenant=%llu faces=%zu codeless=%zu ms=%lld",
	    (unsigned long long)tenant, tenant_count(*g), g->removed,
	    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

/* A face into a compacted tenant (m->lock held alone): a face of the lean
 * graph with the same code is there already; a new code leaves it (and the
 * file) and goes into the delta, as does a new face. */
void lean_add(Matcher *m, uint64_t tenant, Tenant *g, uint64_t id, std::vector<int8_t> code)
{
	Lean &L = *g->lean;
	long long at = L.find(id);
	if (at >= 0 && !L.erased(uint32_t(at))) {
		bool same = std::memcmp(L.node(uint32_t(at)), code.data(), L.nb) == 0;
		settle(*g, hnswlib::tableint(at)); /* a face of the file, confirmed by the host's load */
		if (same)
			return;
		L.erase(uint32_t(at));
		g->removed++;
		if (!g->pending.empty())
			g->stale.push_back(hnswlib::tableint(at)); /* zeroed in the file with the others when the load ends */
		else
			forget_on_disk(m, tenant, *g, {hnswlib::tableint(at)});
	}
	if (!g->delta)
		g->delta = std::make_unique<Graph>(g->space.get(), 1024, size_t(m->m), size_t(m->ef_construction), 42);
	if (!graph_has(*g->delta, id) && g->delta->label_lookup_.count(id) && g->removed > 0)
		g->removed--; /* an erased face's node taken again */
	graph_add(*g->delta, id, code.data());
	if (g->building)
		g->log.push_back(Change{true, id, std::move(code)});
	else if (g->n_pending == 0 && double(g->removed + graph_live(g->delta.get())) >= m->rebuild_fraction * double(L.n))
		queue_build(m, tenant, g); /* the delta folded in */
}

/* A face out of a compacted tenant (m->lock held alone): its code zeroed in
 * the lean graph and in the file, or erased from the delta. */
void lean_remove(Matcher *m, uint64_t tenant, Tenant *g, uint64_t id)
{
	Lean &L = *g->lean;
	long long at = L.find(id);
	if (at >= 0 && !L.erased(uint32_t(at))) {
		L.erase(uint32_t(at));
		g->removed++;
		settle(*g, hnswlib::tableint(at));
		forget_on_disk(m, tenant, *g, {hnswlib::tableint(at)}); /* the code leaves the file now too */
	}
	if (g->delta && graph_has(*g->delta, id)) {
		graph_erase(*g->delta, id); /* the delta is not in the file */
		g->removed++;
	}
	if (g->removed > 0 && g->n_pending == 0 && double(g->removed) >= m->rebuild_fraction * double(L.n))
		queue_build(m, tenant, g);
}

/* A tenant's hnswlib graph replaced by its lean copy (compact), on the
 * builder thread once the graph is built or reconciled with the database and
 * written. The copy is made under the shared lock (searches go on; changes
 * wait), the swap under the exclusive one; the changes made between the two
 * are logged (clog) and made on the copy after the swap. */
void compact_tenant(Matcher *m, uint64_t t)
{
	auto t0 = std::chrono::steady_clock::now();
	auto ready = [m](const Tenant *g) {
		return m->compact && g && g->graph && !g->building && !g->n_pending && !g->save_wanted;
	};
	{
		std::unique_lock<std::shared_mutex> w(m->lock);
		Tenant *g = find(m, t, false);
		if (!ready(g) || g->compacting)
			return;
		g->compacting = true;
		g->clog.clear();
	}
	/* the tenants stay (but for a swapped embedder's vectors, which clear them) */
	std::unique_ptr<Lean> lean;
	try {
		size_t cap = 0;
		{
			std::shared_lock<std::shared_mutex> r(m->lock);
			Tenant *g = find(m, t, false);
			if (g && g->graph) {
				lean = compact_graph(*g->graph, m->dim);
				cap = reverse_cap(m, g->graph->cur_element_count);
			}
		}
		/* the links back on the copy alone, changes no longer held (~20 s
		 * at ten million faces; those made meanwhile are in the log) */
		if (lean)
			lean->add_reverse(cap);
	} catch (...) {
		std::unique_lock<std::shared_mutex> w(m->lock);
		if (Tenant *g = find(m, t, false))
			g->compacting = false;
		throw;
	}
	std::unique_lock<std::shared_mutex> w(m->lock);
	Tenant *g = find(m, t, false);
	if (!g)
		return;
	g->compacting = false;
	if (!ready(g) || !lean) { /* a build began meanwhile: its graph is compacted in turn */
		wipe(lean.get());
		std::vector<Change>().swap(g->clog);
		return;
	}
	size_t before = g->graph->max_elements_ * (g->graph->size_data_per_element_ + sizeof(void *) + sizeof(std::mutex) + sizeof(int)) +
	                g->graph->label_lookup_.size() * 40;
	wipe(g->graph.get());
	g->graph.reset();
	g->lean = std::move(lean);
	g->removed = g->lean->n_gone;
	/* the changes made since the copy, made on it too (those of the graph
	 * erased from the file already: forgetting a node again is a no-op) */
	std::vector<Change> changes;
	changes.swap(g->clog);
	for (Change &c : changes) {
		if (c.add)
			lean_add(m, t, g, c.id, std::move(c.code));
		else
			lean_remove(m, t, g, c.id);
	}
	m->compactions++;
	malloc_trim(0); /* hnswlib's many small blocks (upper links, label map) back to the system */
	m->host->log(m->host, DV_LOG_INFO,
	    "match_hnsw graph compacted tenant=%llu faces=%zu bytes=%zu (hnswlib's: ~%zu) links_per_node=%.1f ms=%lld",
	    (unsigned long long)t, g->lean->live(), g->lean->bytes(), before,
	    g->lean->n ? double(g->lean->off[g->lean->n]) / double(g->lean->n) : 0.0,
	    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

void builder_main(Matcher *m)
{
	for (;;) {
		uint64_t t;
		{
			std::unique_lock<std::mutex> l(m->jobs_lock);
			m->jobs_cv.wait(l, [m] { return m->stopping || !m->jobs.empty(); });
			if (m->stopping)
				return;
			t = m->jobs.front();
			m->jobs.erase(m->jobs.begin());
		}
		try {
			bool rebuild;
			{
				std::shared_lock<std::shared_mutex> r(m->lock);
				Tenant *g = find(m, t, false);
				rebuild = g && g->building;
			}
			if (rebuild)
				build(m, t);
			/* a new graph, or changes enough since the file: written */
			std::shared_lock<std::shared_mutex> r(m->lock);
			Tenant *g = find(m, t, false);
			if (g && g->save_wanted && !g->building && g->n_pending == 0) {
				g->save_wanted = false;
				save_graph(m, t, *g);
			}
			r.unlock();
			compact_tenant(m, t);
		} catch (const std::exception &e) {
			std::unique_lock<std::shared_mutex> w(m->lock);
			if (Tenant *g = find(m, t, false))
				g->building = false;
			m->host->log(m->host, DV_LOG_ERROR, "match_hnsw build failed tenant=%llu: %s", (unsigned long long)t,
			    e.what());
		}
	}
}

const dv_param params[] = {
	{"exact_below", DV_PARAM_INT, 0, 1e12, "20000",
	    "a tenant with fewer faces is searched exactly (float32); from this many on, through its HNSW graph (built in the background)"},
	{"m", DV_PARAM_INT, 4, 64, "16", "HNSW links per node (memory: 8 x m bytes a face at the base layer)"},
	{"ef_construction", DV_PARAM_INT, 10, 2000, "400",
	    "HNSW candidate list while building (recall at no cost to a search: 400 against 100 took recall@1 at 100,000 faces from 0.984 to 0.996; builds take ~3.5 times longer)"},
	{"ef_search", DV_PARAM_INT, 10, 4000, "1600",
	    "HNSW candidate list while searching: a face with no near match (a stranger) costs about this much (recall against time)"},
	{"stop_ratio", DV_PARAM_DOUBLE, 0, 100, "2",
	    "a search also ends once the nodes left to explore are this many times farther (squared) than the nearest found: a face with a near match is found in a fraction of ef's cost (0: the candidate list's rule alone; at least 1 otherwise)"},
	{"compact", DV_PARAM_BOOL, 0, 0, "true",
	    "once built (or read back and reconciled), a graph is copied into a lean layout of what a search reads — ~280 bytes a face instead of hnswlib's 452 — and faces added later go into a small graph beside it until the next rebuild"},
	{"reverse_links", DV_PARAM_INT, 0, 1024, "128",
	    "compacted: each node's base links gain the links pointing to it that hnswlib's pruning dropped, up to this many links a node (ten million faces: recall@1 0.87 -> 0.97 for ~17 bytes a face; 0: none)"},
	{"reverse_links_from", DV_PARAM_INT, 0, 1e12, "2000000",
	    "reverse_links apply to graphs of this many faces and more: at a million faces they cost a known face 18% and a stranger 2.4 times the time, for recall@1 0.999 -> 1.000; at ten million they pay (0: every graph)"},
	{"rerank", DV_PARAM_INT, 1, 1000, "16",
	    "the graph's nearest this many are ranked again by the exact query and the codes' residuals (near-ties in exact search's order)"},
	{"build_threads", DV_PARAM_INT, 1, 256, "1",
	    "threads a graph build inserts with (builds run in the background; more finish sooner and take cores from the workers meanwhile)"},
	{"rebuild_fraction", DV_PARAM_DOUBLE, 0.01, 1, "0.1",
	    "rebuild a tenant's graph in the background once erased (codeless) nodes — and, compacted, the faces added since (the delta) — are this share of it"},
	{"persist_fraction", DV_PARAM_DOUBLE, 0.001, 1, "0.01",
	    "with persist_dir: a tenant's file is written again once the faces added or changed since are this share of its graph (at least 256); a restart inserts what the file misses"},
	{"persist_dir", DV_PARAM_STRING, 0, 0, "",
	    "a private directory (created 0700) where each tenant's graph is kept across restarts, with a checksum; erasure zeroes the face's code there too. Empty: graphs are built again from the database at each start"},
	{nullptr, 0, 0, 0, nullptr, nullptr},
};

int create(const dv_host *h, void **out)
{
	auto *m = new (std::nothrow) Matcher;
	if (!m)
		return DV_PLUGIN_ENOMEM;
	m->host = h;
	h->param_int(h, "exact_below", &m->exact_below);
	h->param_int(h, "m", &m->m);
	h->param_int(h, "ef_construction", &m->ef_construction);
	h->param_int(h, "ef_search", &m->ef_search);
	h->param_double(h, "stop_ratio", &m->stop_ratio);
	if (m->stop_ratio > 0 && m->stop_ratio < 1) {
		h->log(h, DV_LOG_WARN, "match_hnsw: stop_ratio %g would end a search before the nearest it found; 1 is used",
		    m->stop_ratio);
		m->stop_ratio = 1;
	}
	int compact = 1;
	h->param_bool(h, "compact", &compact);
	m->compact = compact != 0;
	h->param_int(h, "reverse_links", &m->reverse_links);
	h->param_int(h, "reverse_links_from", &m->reverse_links_from);
	h->param_int(h, "rerank", &m->rerank);
	h->param_int(h, "build_threads", &m->build_threads);
	h->param_double(h, "rebuild_fraction", &m->rebuild_fraction);
	h->param_double(h, "persist_fraction", &m->persist_fraction);
	const char *dir = nullptr;
	if (h->param_string(h, "persist_dir", &dir) == 0 && dir && *dir)
		m->dir = dir;
	try {
		m->builder = std::thread(builder_main, m);
	} catch (...) {
		delete m;
		return DV_PLUGIN_EFAIL;
	}
	pick_kernel();
	if (!m->dir.empty()) {
		try {
			load_all(m);
		} catch (const std::exception &e) {
			h->log(h, DV_LOG_ERROR, "match_hnsw: reading persist_dir failed: %s", e.what());
		}
	}
	h->log(h, DV_LOG_INFO,
	    "match_hnsw exact_below=%lld m=%lld ef_construction=%lld ef_search=%lld stop_ratio=%g rerank=%lld build_threads=%lld compact=%s reverse_links=%lld from %lld faces kernels=%s (int8 codes and 4-bit residuals in the graphs)",
	    m->exact_below, m->m, m->ef_construction, m->ef_search, m->stop_ratio, m->rerank, m->build_threads,
	    m->compact ? "true" : "false", m->reverse_links, m->reverse_links_from, code_isa);
	*out = m;
	return DV_PLUGIN_OK;
}

void destroy(void *p)
{
	auto *m = static_cast<Matcher *>(p);
	{
		std::lock_guard<std::mutex> l(m->jobs_lock);
		m->stopping = true;
		m->jobs_cv.notify_all();
	}
	m->builder.join();
	for (auto &kv : m->tenants) {
		Tenant &g = *kv.second;
		std::fill(g.vecs.begin(), g.vecs.end(), 0.0f);
		wipe(g.graph.get());
		wipe(g.lean.get());
		wipe(g.delta.get());
	}
	delete m;
}

void exact_remove(Tenant &g, uint64_t id, int dim)
{
	auto it = g.row.find(id);
	if (it == g.row.end())
		return;
	size_t i = it->second, last = g.ids.size() - 1;
	if (i != last) {
		std::memcpy(&g.vecs[i * dim], &g.vecs[last * dim], sizeof(float) * dim);
		g.ids[i] = g.ids[last];
		g.row[g.ids[i]] = i;
	}
	std::fill(g.vecs.begin() + long(last * dim), g.vecs.end(), 0.0f); /* the vector itself goes */
	g.vecs.resize(last * dim);
	g.ids.pop_back();
	g.row.erase(id);
}

int add(void *p, uint64_t tenant, uint64_t id, const float *vec, int dim)
{
	auto *m = static_cast<Matcher *>(p);
	try {
		std::unique_lock<std::shared_mutex> w(m->lock);
		if (m->dim_from_disk && dim != m->dim) {
			/* the files hold vectors of another dimension (another
			 * embedder): they are of no use to this gallery */
			for (auto &kv : m->tenants) {
				Tenant &g = *kv.second;
				wipe(g.graph.get());
				wipe(g.lean.get());
				wipe(g.delta.get());
				drop_files(m, kv.first, &g, "its vectors are of another dimension than the embedder's");
			}
			m->tenants.clear();
			m->dim = 0;
		}
		m->dim_from_disk = false;
		if (m->dim == 0) {
			m->dim = dim;
			m->fspace = std::make_unique<hnswlib::L2Space>(size_t(dim));
		}
		if (dim != m->dim) {
			m->host->error(m->host, "vector of dimension %d in a gallery of %d", dim, m->dim);
			return DV_PLUGIN_EINVAL;
		}
		Tenant *g = find(m, tenant, true);
		if (g->lean) {
			std::vector<int8_t> code(node_bytes(dim));
			quantise(vec, dim, code.data());
			lean_add(m, tenant, g, id, std::move(code));
			return DV_PLUGIN_OK;
		}
		if (g->graph) {
			size_t nb = node_bytes(dim);
			std::vector<int8_t> code(nb);
			quantise(vec, dim, code.data());
			auto it = g->graph->label_lookup_.find(id);
			if (it != g->graph->label_lookup_.end()) {
				hnswlib::tableint at = it->second;
				const char *was = g->graph->getDataByInternalId(at);
				bool same = !g->graph->isMarkedDeleted(at) && std::memcmp(was, code.data(), nb) == 0;
				settle(*g, at); /* a face of the file, confirmed by the host's load */
				if (same)
					return DV_PLUGIN_OK; /* the same code: nothing to do */
				/* a new code for a known face: the old one leaves the file
				 * too — at once, or with the others when the load ends (a
				 * swapped embedder changes every code: one write, not one
				 * each) */
				if (!std::all_of(was, was + nb, [](char c) { return c == 0; })) {
					if (!g->pending.empty())
						g->stale.push_back(at);
					else
						forget_on_disk(m, tenant, *g, {at});
				}
			}
			if (!graph_has(*g->graph, id) && g->graph->label_lookup_.count(id) && g->removed > 0)
				g->removed--; /* an erased face's node taken again */
			graph_add(*g->graph, id, code.data());
			if (g->compacting)
				g->clog.push_back(Change{true, id, code});
			if (g->building)
				g->log.push_back(Change{true, id, std::move(code)});
			/* the file is written again once it misses persist_fraction of
			 * the graph (a restart inserts what the file misses: at a
			 * million faces and 1%, ~10,000 inserts) */
			if (++g->changed >= std::max<size_t>(256, size_t(m->persist_fraction * double(tenant_count(*g)))) &&
			    g->n_pending == 0)
				queue_save(m, tenant, g);
		} else {
			exact_remove(*g, id, dim); /* add replaces */
			g->row[id] = g->ids.size();
			g->ids.push_back(id);
			g->vecs.insert(g->vecs.end(), vec, vec + dim);
			if (g->building) {
				std::vector<int8_t> code(node_bytes(dim));
				quantise(vec, dim, code.data());
				g->log.push_back(Change{true, id, std::move(code)});
			}
			if (m->exact_below > 0 && (long long)g->ids.size() >= m->exact_below)
				queue_build(m, tenant, g);
		}
		return DV_PLUGIN_OK;
	} catch (const std::bad_alloc &) {
		m->host->error(m->host, "out of memory");
		return DV_PLUGIN_ENOMEM;
	}
}

int remove_face(void *p, uint64_t tenant, uint64_t id)
{
	auto *m = static_cast<Matcher *>(p);
	try {
		std::unique_lock<std::shared_mutex> w(m->lock);
		Tenant *g = find(m, tenant, false);
		if (!g)
			return DV_PLUGIN_OK;
		if (g->lean) {
			lean_remove(m, tenant, g, id);
		} else if (g->graph) {
			if (g->compacting)
				g->clog.push_back(Change{false, id, {}});
			if (graph_has(*g->graph, id)) {
				hnswlib::tableint at = g->graph->label_lookup_.find(id)->second;
				graph_erase(*g->graph, id);
				g->removed++;
				settle(*g, at);
				forget_on_disk(m, tenant, *g, {at}); /* the code leaves the file now too */
			}
			if (g->removed > 0 && g->n_pending == 0 &&
			    double(g->removed) >= m->rebuild_fraction * double(g->graph->cur_element_count))
				queue_build(m, tenant, g);
		} else {
			exact_remove(*g, id, m->dim);
		}
		if (g->building)
			g->log.push_back(Change{false, id, {}});
		return DV_PLUGIN_OK;
	} catch (const std::bad_alloc &) {
		m->host->error(m->host, "out of memory");
		return DV_PLUGIN_ENOMEM;
	}
}

int search(void *p, uint64_t tenant, const float *q, int dim, int k, dv_match *out, int *n_out)
{
	auto *m = static_cast<Matcher *>(p);
	*n_out = 0;
	try {
		std::shared_lock<std::shared_mutex> r(m->lock);
		Tenant *g = find(m, tenant, false);
		if (!g || k <= 0)
			return DV_PLUGIN_OK;
		if (dim != m->dim) {
			m->host->error(m->host, "query of dimension %d in a gallery of %d", dim, m->dim);
			return DV_PLUGIN_EINVAL;
		}
		std::vector<std::pair<float, uint64_t>> best;
		if (has_graph(*g)) {
			if (tenant_count(*g) == 0)
				return DV_PLUGIN_OK;
			std::vector<int8_t> code(static_cast<size_t>(dim));
			quantise_code(q, dim, code.data());
			/* the graph's nearest `rerank`, by the codes; then by the query
			 * itself against code and residual */
			long long expanded = 0;
			size_t want = size_t(std::max<long long>(k, m->rerank));
			auto from = [&](const Graph &gr) {
				auto res = walk(HnswView{gr}, code.data(), size_t(m->ef_search), want, size_t(k), m->stop_ratio, &expanded);
				for (const auto &hit : res) {
					if (&gr == g->graph.get() && g->n_pending && hit.second < g->pending.size() && g->pending[hit.second])
						continue; /* read from the file, not yet confirmed by the host's load */
					const int8_t *node = reinterpret_cast<const int8_t *>(gr.getDataByInternalId(hit.second));
					best.emplace_back(std::sqrt(refined_l2(q, node, dim)), gr.getExternalLabel(hit.second));
				}
			};
			if (g->lean) {
				const Lean &L = *g->lean;
				auto res = walk(LeanView{L}, code.data(), size_t(m->ef_search), want, size_t(k), m->stop_ratio, &expanded);
				for (const auto &hit : res)
					if (!g->n_pending || !g->pending[hit.second]) /* pending: not yet confirmed by the host's load */
						best.emplace_back(std::sqrt(refined_l2(q, L.node(hit.second), dim)), L.label[hit.second]);
				if (g->delta && graph_live(g->delta.get()))
					from(*g->delta);
			} else {
				from(*g->graph);
			}
			m->walks.fetch_add(1, std::memory_order_relaxed);
			m->expanded.fetch_add(expanded, std::memory_order_relaxed);
		} else {
			hnswlib::DISTFUNC<float> l2 = m->fspace->get_dist_func();
			void *param = m->fspace->get_dist_func_param();
			for (size_t i = 0; i < g->ids.size(); i++)
				best.emplace_back(std::sqrt(l2(q, &g->vecs[i * dim], param)), g->ids[i]);
		}
		size_t n = std::min(best.size(), size_t(k));
		std::partial_sort(best.begin(), best.begin() + long(n), best.end());
		for (size_t i = 0; i < n; i++) {
			out[i] = dv_match{};
			out[i].id = best[i].second;
			out[i].distance = best[i].first;
		}
		*n_out = int(n);
		return DV_PLUGIN_OK;
	} catch (const std::bad_alloc &) {
		m->host->error(m->host, "out of memory");
		return DV_PLUGIN_ENOMEM;
	}
}

/* The host has added every face it holds: the nodes read from the file
 * and not confirmed since are faces erased while the server was down; they
 * are erased now, in memory and in the file. */
int loaded(void *p)
{
	auto *m = static_cast<Matcher *>(p);
	try {
		std::unique_lock<std::shared_mutex> w(m->lock);
		for (auto &kv : m->tenants) {
			Tenant &g = *kv.second;
			if (!g.graph && !(g.lean && !g.pending.empty()))
				continue; /* exact, or compacted in this run: nothing read to reconcile */
			std::vector<hnswlib::tableint> gone;
			size_t read = g.pending.size();
			for (size_t i = 0; i < g.pending.size(); i++)
				if (g.pending[i]) {
					if (g.lean)
						g.lean->erase(uint32_t(i));
					else
						graph_erase(*g.graph, g.graph->getExternalLabel(hnswlib::tableint(i)));
					g.removed++;
					gone.push_back(hnswlib::tableint(i));
				}
			std::vector<uint8_t>().swap(g.pending);
			g.n_pending = 0;
			size_t changed_codes = g.stale.size();
			gone.insert(gone.end(), g.stale.begin(), g.stale.end());
			std::vector<hnswlib::tableint>().swap(g.stale);
			forget_on_disk(m, kv.first, g, gone);
			if (read)
				m->host->log(m->host, DV_LOG_INFO,
				    "match_hnsw tenant=%llu reconciled with the database: faces=%zu erased_while_down=%zu changed=%zu added_since=%zu",
				    (unsigned long long)kv.first, tenant_count(g), gone.size() - changed_codes, changed_codes,
				    g.lean ? graph_live(g.delta.get()) - changed_codes : g.changed - changed_codes);
			if (g.lean) {
				/* read straight into the lean layout: the faces added since
				 * are in the delta, and the file stays the lean graph's */
				if (double(g.removed + graph_live(g.delta.get())) >= m->rebuild_fraction * double(g.lean->n))
					queue_build(m, kv.first, &g);
				continue;
			}
			if (g.removed > 0 && double(g.removed) >= m->rebuild_fraction * double(g.graph->cur_element_count))
				queue_build(m, kv.first, &g);
			else if (!m->dir.empty() && (g.changed > 0 || !g.disk.valid))
				queue_save(m, kv.first, &g);
			else
				queue_compact(m, kv.first);
		}
		return DV_PLUGIN_OK;
	} catch (const std::bad_alloc &) {
		m->host->error(m->host, "out of memory");
		return DV_PLUGIN_ENOMEM;
	}
}

int64_t count(void *p)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	int64_t n = 0;
	for (auto &kv : m->tenants)
		n += int64_t(tenant_count(*kv.second));
	return n;
}

int64_t memory(void *p)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	int64_t b = 0;
	for (auto &kv : m->tenants) {
		const Tenant &g = *kv.second;
		b += int64_t(g.vecs.capacity() * sizeof(float) + g.ids.capacity() * 8 + g.row.size() * 32);
		for (const Graph *gp : {g.graph.get(), g.delta.get()}) {
			if (!gp)
				continue;
			const Graph &gr = *gp;
			b += int64_t(gr.max_elements_ * gr.size_data_per_element_);              /* level 0: code, links, label */
			b += int64_t(gr.max_elements_ * sizeof(void *));                          /* upper levels' pointers */
			b += int64_t(gr.cur_element_count * gr.size_links_per_element_ / gr.M_); /* upper levels, ~1/M of nodes */
			b += int64_t(gr.label_lookup_.size() * 40); /* hnswlib's label map: a node of 32 bytes and a bucket */
			b += int64_t(gr.max_elements_ * (sizeof(std::mutex) + sizeof(int))); /* a lock and a level a node */
		}
		if (g.lean)
			b += int64_t(g.lean->bytes());
	}
	return b;
}

} // namespace

/* The plugin's introspection for tests (not part of the ABI): the number of
 * nodes in a tenant's graph holding a code other than zeros, the codeless ones,
 * and whether any node (or exact row) still holds this vector's code. */
extern "C" DV_PLUGIN_EXPORT int match_hnsw_inspect(void *p, uint64_t tenant, const float *vec, long long *coded,
    long long *codeless, int *holds)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	*coded = *codeless = 0;
	*holds = 0;
	Tenant *g = find(m, tenant, false);
	if (!g || !m->dim)
		return g ? 1 : 0;
	size_t nb = node_bytes(m->dim);
	std::vector<int8_t> code(nb);
	quantise(vec, m->dim, code.data());
	auto look = [&](const char *d) {
		bool zero = std::all_of(d, d + nb, [](char c) { return c == 0; });
		(zero ? *codeless : *coded) += 1;
		if (!zero && std::memcmp(d, code.data(), nb) == 0)
			*holds = 1;
	};
	for (const Graph *gr : {g->graph.get(), g->delta.get()})
		for (size_t i = 0; gr && i < gr->cur_element_count; i++)
			look(gr->getDataByInternalId(hnswlib::tableint(i)));
	if (g->lean)
		for (uint32_t i = 0; i < g->lean->n; i++)
			look(reinterpret_cast<const char *>(g->lean->node(i)));
	for (size_t i = 0; i < g->ids.size(); i++)
		if (std::memcmp(&g->vecs[i * m->dim], vec, sizeof(float) * m->dim) == 0)
			*holds = 1;
	return has_graph(*g) ? 2 : 1;
}

/* For tests and make bench (not part of the ABI): how a tenant is held —
 * 0 not at all, 1 exact rows, 2 hnswlib's graph, 3 compacted (a lean graph,
 * and a delta of `*delta` faces added since) — and the compactions made. */
extern "C" DV_PLUGIN_EXPORT int match_hnsw_layout(void *p, uint64_t tenant, long long *delta, long long *compactions)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	Tenant *g = find(m, tenant, false);
	*delta = g ? (long long)graph_live(g->delta.get()) : 0;
	*compactions = m->compactions;
	return !g ? 0 : g->lean ? 3 : g->graph ? 2 : 1;
}

/* For tests (not part of the ABI): a compacted tenant's base layer — its
 * links, those one-way although their target has room for the way back
 * (reverse_links 0: those one-way), and the most links a node has. -1: not
 * compacted. */
extern "C" DV_PLUGIN_EXPORT int match_hnsw_links(void *p, uint64_t tenant, long long *links, long long *one_way, long long *most)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	Tenant *g = find(m, tenant, false);
	if (!g || !g->lean)
		return -1;
	const Lean &L = *g->lean;
	*links = L.off[L.n];
	*one_way = *most = 0;
	for (size_t u = 0; u < L.n; u++) {
		*most = std::max<long long>(*most, L.off[u + 1] - L.off[u]);
		for (size_t k = L.off[u]; k < L.off[u + 1]; k++) {
			uint32_t v = L.link(k);
			bool back = false;
			for (size_t j = L.off[v]; j < L.off[v + 1] && !back; j++)
				back = L.link(j) == u;
			if (!back && (m->reverse_links == 0 || L.off[v + 1] - L.off[v] < size_t(m->reverse_links)))
				++*one_way;
		}
	}
	return 0;
}

/* For tests (not part of the ABI): a face's node number in the tenant's
 * graph (the lean one, or hnswlib's), or -1. */
extern "C" DV_PLUGIN_EXPORT long long match_hnsw_node(void *p, uint64_t tenant, uint64_t id)
{
	auto *m = static_cast<Matcher *>(p);
	std::shared_lock<std::shared_mutex> r(m->lock);
	Tenant *g = find(m, tenant, false);
	if (g && g->lean)
		return g->lean->find(id);
	if (g && g->graph) {
		auto it = g->graph->label_lookup_.find(id);
		return it == g->graph->label_lookup_.end() ? -1 : (long long)it->second;
	}
	return -1;
}

/* For tests (not part of the ABI): graphs written to persist_dir, graphs
 * read from it, and builds, since the instance was created. */
extern "C" DV_PLUGIN_EXPORT void match_hnsw_stats(void *p, long long *saves, long long *loads, long long *builds)
{
	auto *m = static_cast<Matcher *>(p);
	*saves = m->saves;
	*loads = m->loads;
	*builds = m->builds;
}

/* For make bench (not part of the ABI): search with another ef from now on,
 * to show recall against time on one graph. */
extern "C" DV_PLUGIN_EXPORT void match_hnsw_set_ef(void *p, long long ef)
{
	auto *m = static_cast<Matcher *>(p);
	std::unique_lock<std::shared_mutex> w(m->lock);
	m->ef_search = ef; /* walk() reads it (hnswlib's own ef is for searchKnn, unused) */
}

/* For tests and make bench (not part of the ABI): the graph searches made,
 * and the nodes they expanded (the work a search does). */
extern "C" DV_PLUGIN_EXPORT void match_hnsw_walk_stats(void *p, long long *walks, long long *expanded)
{
	auto *m = static_cast<Matcher *>(p);
	*walks = m->walks.load();
	*expanded = m->expanded.load();
}

/* For make bench (not part of the ABI): search with another stop_ratio from
 * now on (0: the candidate list's rule alone, as hnswlib's searchKnn). */
extern "C" DV_PLUGIN_EXPORT void match_hnsw_set_stop(void *p, double ratio)
{
	auto *m = static_cast<Matcher *>(p);
	std::unique_lock<std::shared_mutex> w(m->lock);
	m->stop_ratio = ratio;
}

namespace {
const dv_plugin plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_MATCHER,
	.flags = DV_PLUGIN_SHARED,
	.name = "match_hnsw",
	.version = "0.1",
	.description = "approximate nearest neighbours: exact for small tenants, an HNSW graph of int8 codes (hnswlib) from exact_below faces",
	.params = params,
	.create = create,
	.destroy = destroy,
	.detect = nullptr,
	.landmarks = nullptr,
	.embedder_info = nullptr,
	.embed = nullptr,
	.matcher_add = add,
	.matcher_remove = remove_face,
	.matcher_search = search,
	.matcher_count = count,
	.matcher_memory = memory,
	.matcher_loaded = loaded,
};
} // namespace

extern "C" DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &plugin; }
