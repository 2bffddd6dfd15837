/* dv_metrics.h — Prometheus counters and histograms. Updated on the loop
 * thread only (replies are sent there), so no locks are needed. */
#ifndef DV_METRICS_H
#define DV_METRICS_H
#include "dv_buf.h"
#include "dv_conf.h"
#include <stdint.h>

enum dv_route {
	DV_ROUTE_HEALTHZ = 0,
	DV_ROUTE_READYZ,
	DV_ROUTE_METRICS,
	DV_ROUTE_RECOGNIZE,
	DV_ROUTE_DETECT,
	DV_ROUTE_OTHER,
	DV_ROUTE_TCP,
	DV_ROUTE_API,      /* every other /v1 operation */
	DV_ROUTE_COUNT
};

#define DV_HIST_BUCKETS 16
struct dv_hist {
	uint64_t bucket[DV_HIST_BUCKETS]; /* cumulative on output only */
	uint64_t count;
	double sum;
};

enum { DV_HTTP_TIMEOUT_HEADER, DV_HTTP_TIMEOUT_BODY, DV_HTTP_TIMEOUT_IDLE, DV_HTTP_TIMEOUT_WRITE, DV_HTTP_TIMEOUT_COUNT };

struct dv_metrics {
	uint64_t requests[DV_ROUTE_COUNT][600];
	struct dv_hist stage[DV_STAGE_COUNT];
	struct dv_hist queue_wait;
	struct dv_hist record;
	struct dv_hist request;
	uint64_t rejected_overload;
	uint64_t reloads_ok, reloads_failed;
	uint64_t conn_refused;      /* at a listener's limits.connections (TCP) */
	uint64_t conn_refused_addr; /* at limits.connections_per_address */
	uint64_t http_timeouts[DV_HTTP_TIMEOUT_COUNT];
	uint64_t tcp_timeouts[2];   /* a frame too slow; an idle connection */
	uint64_t tcp_frames_in, tcp_bad_frames;
	uint64_t trims;            /* idle returns of freed memory to the system */
	int trimmed_since_job;     /* 1 once a trim ran after the last job finished */
};

const char *dv_route_name(int route);
void dv_metrics_request(struct dv_metrics *m, int route, int status);
void dv_hist_observe(struct dv_hist *h, double seconds);

/* Gauges the server supplies when rendering. */
struct dv_gauges {
	int queue_depth, queue_cap, workers, workers_ready;
	long conns_http, conns_tcp, conns_ops;
	unsigned long generation;
	int db_up, ready;
	long long inflight;
	double uptime_s;
	long rss_bytes;
	long long gallery_faces;     /* faces in the served generation's matcher */
	long long gallery_notes;     /* LISTEN/NOTIFY changes applied */
	unsigned long long hook_loads, hook_changes, hook_notified; /* tenants' stored hooks read / changes announced */
	int hook_tenants;            /* tenants whose stored hooks are held */
	long long gallery_memory;    /* bytes the matcher holds; -1: the matcher does not say (ABI < 3.1) */
	int gallery_connected;
	int async_pending;
};
void dv_metrics_render(const struct dv_metrics *m, const struct dv_gauges *g, struct dv_buf *out);
/* The process's resident set size, from /proc/self/statm (0 if unreadable). */
long dv_rss_bytes(void);
#endif
