/* dv_metrics.c — Prometheus text exposition of the loop thread's counters,
 * the per-stage latency histograms and the gauges of the moment. */
#include "dv_metrics.h"
#include <stdio.h>
#include <unistd.h>

long dv_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

static const double dv_bounds[DV_HIST_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const char *const dv_route_names[DV_ROUTE_COUNT] = {
	"/healthz", "/readyz", "/metrics", "/v1/recognize", "/v1/detect", "other", "tcp", "/v1/*"};

const char *dv_route_name(int r) { return r >= 0 && r < DV_ROUTE_COUNT ? dv_route_names[r] : "other"; }

void dv_metrics_request(struct dv_metrics *m, int route, int status)
{
	if (route < 0 || route >= DV_ROUTE_COUNT)
		route = DV_ROUTE_OTHER;
	if (status < 100 || status > 599)
		status = 500;
	m->requests[route][status]++;
}

void dv_hist_observe(struct dv_hist *h, double s)
{
	int i = 0;
	while (i < DV_HIST_BUCKETS - 1 && s > dv_bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += s;
}

static void dv_hist_render(struct dv_buf *o, const char *name, const char *label, const struct dv_hist *h)
{
	uint64_t cum = 0;
	for (int i = 0; i < DV_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < DV_HIST_BUCKETS - 1)
			dv_buf_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, *label ? "," : "", dv_bounds[i],
			    (unsigned long long)cum);
		else
			dv_buf_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, *label ? "," : "",
			    (unsigned long long)cum);
	}
	dv_buf_printf(o, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, label, h->sum, name, label,
	    (unsigned long long)h->count);
}

void dv_metrics_render(const struct dv_metrics *m, const struct dv_gauges *g, struct dv_buf *o)
{
	dv_buf_puts(o, "# HELP dv_requests_total Requests answered, by route and status.\n"
	               "# TYPE dv_requests_total counter\n");
	for (int r = 0; r < DV_ROUTE_COUNT; r++)
		for (int s = 100; s < 600; s++)
			if (m->requests[r][s])
				dv_buf_printf(o, "dv_requests_total{route=\"%s\",status=\"%d\"} %llu\n", dv_route_names[r], s,
				    (unsigned long long)m->requests[r][s]);
	dv_buf_puts(o, "# HELP dv_stage_duration_seconds Time spent in each pipeline stage.\n"
	               "# TYPE dv_stage_duration_seconds histogram\n");
	for (int s = 0; s < DV_STAGE_COUNT; s++) {
		char label[64];
		snprintf(label, sizeof label, "stage=\"%s\"", dv_stage_name(s));
		dv_hist_render(o, "dv_stage_duration_seconds", label, &m->stage[s]);
	}
	dv_buf_puts(o, "# HELP dv_queue_wait_seconds Time jobs waited for a worker.\n"
	               "# TYPE dv_queue_wait_seconds histogram\n");
	dv_hist_render(o, "dv_queue_wait_seconds", "", &m->queue_wait);
	dv_buf_puts(o, "# HELP dv_record_duration_seconds Time a recognition spent recording: persons, events, Lua hooks "
	               "and commit in PostgreSQL.\n"
	               "# TYPE dv_record_duration_seconds histogram\n");
	dv_hist_render(o, "dv_record_duration_seconds", "", &m->record);
	dv_buf_puts(o, "# HELP dv_job_duration_seconds Time from request to reply for pipeline jobs.\n"
	               "# TYPE dv_job_duration_seconds histogram\n");
	dv_hist_render(o, "dv_job_duration_seconds", "", &m->request);
	dv_buf_printf(o,
	    "# HELP dv_queue_depth Jobs waiting for a worker.\n# TYPE dv_queue_depth gauge\ndv_queue_depth %d\n"
	    "# HELP dv_queue_capacity Configured queue length.\n# TYPE dv_queue_capacity gauge\ndv_queue_capacity %d\n"
	    "# HELP dv_jobs_inflight Jobs accepted and not yet answered.\n# TYPE dv_jobs_inflight gauge\ndv_jobs_inflight %lld\n"
	    "# HELP dv_workers Worker threads, and those whose plugins are up.\n# TYPE dv_workers gauge\n"
	    "dv_workers{state=\"total\"} %d\ndv_workers{state=\"ready\"} %d\n"
	    "# HELP dv_connections Open client connections.\n# TYPE dv_connections gauge\n"
	    "dv_connections{listener=\"http\"} %ld\ndv_connections{listener=\"tcp\"} %ld\ndv_connections{listener=\"ops\"} %ld\n"
	    "# HELP dv_connections_refused_total Connections refused: at a listener's limit (TCP), or because the client's "
	    "address held limits.connections_per_address.\n# TYPE dv_connections_refused_total counter\n"
	    "dv_connections_refused_total{reason=\"limit\"} %llu\ndv_connections_refused_total{reason=\"per_address\"} %llu\n"
	    "# HELP dv_timeouts_total Connections cut by a deadline: an HTTP request's head or body, a TCP frame, an idle "
	    "connection, a reply the client did not read.\n# TYPE dv_timeouts_total counter\n"
	    "dv_timeouts_total{listener=\"http\",phase=\"header\"} %llu\ndv_timeouts_total{listener=\"http\",phase=\"body\"} %llu\n"
	    "dv_timeouts_total{listener=\"http\",phase=\"idle\"} %llu\ndv_timeouts_total{listener=\"http\",phase=\"write\"} %llu\n"
	    "dv_timeouts_total{listener=\"tcp\",phase=\"frame\"} %llu\ndv_timeouts_total{listener=\"tcp\",phase=\"idle\"} %llu\n"
	    "# HELP dv_overload_rejections_total Requests answered 503 because the queue was full.\n"
	    "# TYPE dv_overload_rejections_total counter\ndv_overload_rejections_total %llu\n"
	    "# HELP dv_config_generation Configuration generation in use.\n# TYPE dv_config_generation gauge\n"
	    "dv_config_generation %lu\n"
	    "# HELP dv_config_reloads_total SIGHUP reloads by result.\n# TYPE dv_config_reloads_total counter\n"
	    "dv_config_reloads_total{result=\"ok\"} %llu\ndv_config_reloads_total{result=\"failed\"} %llu\n"
	    "# HELP dv_tcp_frames_total TCP frames received, and those rejected as malformed.\n"
	    "# TYPE dv_tcp_frames_total counter\ndv_tcp_frames_total{result=\"ok\"} %llu\n"
	    "dv_tcp_frames_total{result=\"bad\"} %llu\n"
	    "# HELP dv_database_up Whether the database answers.\n# TYPE dv_database_up gauge\ndv_database_up %d\n"
	    "# HELP dv_ready Whether /readyz answers 200.\n# TYPE dv_ready gauge\ndv_ready %d\n"
	    "# HELP dv_uptime_seconds Seconds since start.\n# TYPE dv_uptime_seconds gauge\ndv_uptime_seconds %.1f\n"
	    "# HELP dv_resident_memory_bytes Resident set size.\n# TYPE dv_resident_memory_bytes gauge\n"
	    "dv_resident_memory_bytes %ld\n",
	    g->queue_depth, g->queue_cap, g->inflight, g->workers, g->workers_ready, g->conns_http, g->conns_tcp, g->conns_ops,
	    (unsigned long long)m->conn_refused, (unsigned long long)m->conn_refused_addr,
	    (unsigned long long)m->http_timeouts[DV_HTTP_TIMEOUT_HEADER], (unsigned long long)m->http_timeouts[DV_HTTP_TIMEOUT_BODY],
	    (unsigned long long)m->http_timeouts[DV_HTTP_TIMEOUT_IDLE], (unsigned long long)m->http_timeouts[DV_HTTP_TIMEOUT_WRITE],
	    (unsigned long long)m->tcp_timeouts[0], (unsigned long long)m->tcp_timeouts[1],
	    (unsigned long long)m->rejected_overload, g->generation,
	    (unsigned long long)m->reloads_ok, (unsigned long long)m->reloads_failed,
	    (unsigned long long)(m->tcp_frames_in - m->tcp_bad_frames), (unsigned long long)m->tcp_bad_frames, g->db_up,
	    g->ready, g->uptime_s, g->rss_bytes);
	dv_buf_printf(o,
	    "# HELP dv_gallery_faces Faces held by the matcher (the served configuration's model).\n"
	    "# TYPE dv_gallery_faces gauge\ndv_gallery_faces %lld\n"
	    "# HELP dv_gallery_notifications_total Gallery changes received through LISTEN/NOTIFY.\n"
	    "# TYPE dv_gallery_notifications_total counter\ndv_gallery_notifications_total %lld\n"
	    "# HELP dv_gallery_sync_up Whether the gallery's LISTEN connection is up.\n"
	    "# TYPE dv_gallery_sync_up gauge\ndv_gallery_sync_up %d\n"
	    "# HELP dv_async_jobs_pending Async jobs accepted and not finished.\n"
	    "# TYPE dv_async_jobs_pending gauge\ndv_async_jobs_pending %d\n"
	    "# HELP dv_memory_trims_total Times freed memory was returned to the system once idle.\n"
	    "# TYPE dv_memory_trims_total counter\ndv_memory_trims_total %llu\n"
	    "# HELP dv_memory_trimmed_idle 1 once freed memory was returned after the last job finished.\n"
	    "# TYPE dv_memory_trimmed_idle gauge\ndv_memory_trimmed_idle %d\n",
	    g->gallery_faces, g->gallery_notes, g->gallery_connected, g->async_pending, (unsigned long long)m->trims,
	    m->trimmed_since_job);
	dv_buf_printf(o,
	    "# HELP dv_hooks_loads_total Times a tenant's stored hooks were read from the database.\n"
	    "# TYPE dv_hooks_loads_total counter\ndv_hooks_loads_total %llu\n"
	    "# HELP dv_hooks_changes_total Changes to tenants' stored hooks announced (here or through NOTIFY).\n"
	    "# TYPE dv_hooks_changes_total counter\ndv_hooks_changes_total %llu\n"
	    "# HELP dv_hooks_notifications_total Changes to tenants' stored hooks learnt through LISTEN/NOTIFY.\n"
	    "# TYPE dv_hooks_notifications_total counter\ndv_hooks_notifications_total %llu\n"
	    "# HELP dv_hooks_tenants Tenants whose stored hooks this server holds.\n"
	    "# TYPE dv_hooks_tenants gauge\ndv_hooks_tenants %d\n",
	    g->hook_loads, g->hook_changes, g->hook_notified, g->hook_tenants);
	if (g->gallery_memory >= 0)
		dv_buf_printf(o,
		    "# HELP dv_gallery_memory_bytes Memory the matcher's gallery holds (vectors and index).\n"
		    "# TYPE dv_gallery_memory_bytes gauge\ndv_gallery_memory_bytes %lld\n",
		    g->gallery_memory);
}
