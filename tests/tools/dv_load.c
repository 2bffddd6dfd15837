/* dv_load — a small HTTP/1.1 load generator for tests and benchmarks:
 * C keep-alive connections send N POST (or GET) requests in total and the
 * answers are tallied by status, with latency percentiles. Reconnects when
 * the server closes. Bounded in time (-t). With -n 0 it runs until SIGTERM
 * or SIGINT, then lets the requests in flight finish (so a test can keep
 * load on the server for exactly as long as a step takes). Prints a readable
 * summary and, with -j, one machine-readable line. */
#include "../util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_IDLE, C_CONNECTING, C_SENDING, C_READING };

struct conn {
	int fd, state;
	size_t sent;
	char *in;
	size_t inlen, incap;
	double t0;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in addr;
static char *req;
static size_t reqlen;
static long issued, done_n, total, errors, status_count[600];
static double *lat;
static long nlat, latcap;
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* May another request be sent? */
static int more(void) { return !stopping && (total == 0 || issued < total); }
/* Is the run over? */
static int finished(void) { return (total > 0 && done_n >= total) || (!more() && done_n >= issued); }

static int dial(struct conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->inlen = 0;
	c->sent = 0;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0 || errno == EINPROGRESS) {
		c->state = C_CONNECTING;
		return 0;
	}
	close(c->fd);
	c->fd = -1;
	return -1;
}

static void hangup(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_IDLE;
}

static void start_request(struct conn *c)
{
	c->state = C_SENDING;
	c->sent = 0;
	c->inlen = 0;
	c->t0 = now();
	issued++;
}

/* Returns 1 when a whole response is in c->in; sets status and close. */
static int parse(struct conn *c, int *status, int *must_close, size_t *used)
{
	if (c->inlen < 12)
		return 0;
	char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!end)
		return 0;
	size_t hl = (size_t)(end - c->in) + 4;
	*status = atoi(c->in + 9);
	long cl = 0;
	*must_close = 0;
	for (char *p = c->in; p < end; p++) {
		if (*p != '\n')
			continue;
		if (!strncasecmp(p + 1, "Content-Length:", 15))
			cl = atol(p + 16);
		if (!strncasecmp(p + 1, "Connection: close", 17))
			*must_close = 1;
	}
	if (c->inlen < hl + (size_t)cl)
		return 0;
	*used = hl + (size_t)cl;
	return 1;
}

int main(int argc, char **argv)
{
	int nconn = 10, json = 0;
	double tmax = 60;
	const char *method = "POST", *path = "/v1/recognize", *file = NULL, *host = "127.0.0.1", *ctype = "image/x-portable-pixmap";
	int port = 0, o;
	const char *key = getenv("DV_API_KEY"); /* -k overrides */
	total = 100;
	while ((o = getopt(argc, argv, "c:n:p:u:f:m:t:h:T:jk:")) != -1) {
		switch (o) {
		case 'c': nconn = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'u': path = optarg; break;
		case 'f': file = optarg; break;
		case 'm': method = optarg; break;
		case 't': tmax = atof(optarg); break;
		case 'h': host = optarg; break;
		case 'T': ctype = optarg; break;
		case 'j': json = 1; break;
		case 'k': key = optarg; break;
		default:
			fprintf(stderr, "usage: dv_load -p PORT [-h HOST] [-c CONNS] [-n REQUESTS] [-u PATH] [-m METHOD] [-f BODY] [-t SECONDS] [-k API_KEY] [-j]\n");
			return 2;
		}
	}
	if (!port) {
		fprintf(stderr, "dv_load: -p PORT is required\n");
		return 2;
	}
	char *body = NULL;
	size_t blen = 0;
	if (file) {
		FILE *f = fopen(file, "rb");
		if (!f) {
			perror(file);
			return 2;
		}
		fseek(f, 0, SEEK_END);
		blen = (size_t)ftell(f);
		fseek(f, 0, SEEK_SET);
		body = malloc(blen + 1);
		if (fread(body, 1, blen, f) != blen)
			return 2;
		fclose(f);
	}
	char hdr[512];
	char auth[128] = "";
	if (key && *key)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", key);
	int hl = snprintf(hdr, sizeof hdr, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
	    method, path, host, port, auth, ctype, blen);
	reqlen = (size_t)hl + blen;
	req = malloc(reqlen);
	memcpy(req, hdr, (size_t)hl);
	if (blen)
		memcpy(req + hl, body, blen);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &addr.sin_addr);
	latcap = total > 0 ? total : 65536;
	lat = calloc((size_t)latcap, sizeof *lat);
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct conn *cs = calloc((size_t)nconn, sizeof *cs);
	struct pollfd *pf = calloc((size_t)nconn, sizeof *pf);
	for (int i = 0; i < nconn; i++)
		cs[i].fd = -1;
	double t_start = now(), deadline = t_start + tmax;
	int timed_out = 0;
	while (!finished()) {
		if (now() > deadline) {
			timed_out = 1;
			break;
		}
		for (int i = 0; i < nconn; i++) {
			struct conn *c = &cs[i];
			if (c->state == C_IDLE && more()) {
				if (dial(c) != 0) {
					errors++;
					done_n++;
					issued++;
				}
			}
			pf[i].fd = c->fd;
			pf[i].events = c->state == C_CONNECTING || c->state == C_SENDING ? POLLOUT : POLLIN;
			if (c->state == C_IDLE)
				pf[i].fd = -1;
		}
		int r = poll(pf, (nfds_t)nconn, 100);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nconn && r > 0; i++) {
			struct conn *c = &cs[i];
			if (!pf[i].revents || c->fd < 0)
				continue;
			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t el = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					hangup(c);
					errors++;
					done_n++;
					issued++;
					continue;
				}
				start_request(c);
			}
			if (c->state == C_SENDING) {
				ssize_t w = send(c->fd, req + c->sent, reqlen - c->sent, MSG_NOSIGNAL);
				if (w > 0)
					c->sent += (size_t)w;
				if (w < 0 && errno != EAGAIN) {
					c->state = C_READING; /* the server may have answered and closed */
				} else if (c->sent == reqlen) {
					c->state = C_READING;
				}
				continue;
			}
			if (c->state == C_READING) {
				if (c->incap - c->inlen < 65536) {
					c->incap = c->incap ? c->incap * 2 : 131072;
					c->in = realloc(c->in, c->incap);
				}
				ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
				if (n > 0)
					c->inlen += (size_t)n;
				int status, must_close;
				size_t used;
				if (n >= 0 && parse(c, &status, &must_close, &used)) {
					if (status >= 100 && status < 600)
						status_count[status]++;
					if (nlat == latcap) {
						double *l = realloc(lat, sizeof *lat * (size_t)latcap * 2);
						if (l) {
							lat = l;
							latcap *= 2;
						}
					}
					if (nlat < latcap)
						lat[nlat++] = now() - c->t0;
					done_n++;
					if (must_close) {
						hangup(c);
					} else if (more()) {
						start_request(c);
					} else {
						hangup(c);
					}
				} else if (n == 0 || (n < 0 && errno != EAGAIN)) {
					/* closed before a whole answer */
					errors++;
					done_n++;
					hangup(c);
				}
			}
		}
	}
	double el = now() - t_start;
	for (int i = 0; i < nconn; i++) {
		hangup(&cs[i]);
		free(cs[i].in);
	}
	free(cs);
	free(pf);
	free(req);
	free(body);
	qsort(lat, (size_t)nlat, sizeof *lat, test_cmpd);
	double p50 = nlat ? lat[nlat / 2] : 0, p95 = nlat ? lat[(long)(nlat * 0.95)] : 0,
	       p99 = nlat ? lat[(long)(nlat * 0.99) < nlat ? (long)(nlat * 0.99) : nlat - 1] : 0;
	long other = 0;
	for (int s = 0; s < 600; s++)
		if (s != 200 && s != 503)
			other += status_count[s];
	if (json) {
		printf("{\"requests\":%ld,\"s200\":%ld,\"s503\":%ld,\"other\":%ld,\"errors\":%ld,\"timed_out\":%d,"
		       "\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.2f,\"p95_ms\":%.2f,\"p99_ms\":%.2f}\n",
		    done_n, status_count[200], status_count[503], other, errors, timed_out, el, done_n / el, p50 * 1e3,
		    p95 * 1e3, p99 * 1e3);
	} else {
		printf("requests %ld in %.2f s (%.0f/s), %d connections\n", done_n, el, done_n / el, nconn);
		for (int s = 0; s < 600; s++)
			if (status_count[s])
				printf("  status %d: %ld\n", s, status_count[s]);
		printf("  errors: %ld%s\n", errors, timed_out ? " (timed out)" : "");
		printf("  latency ms: p50 %.2f  p95 %.2f  p99 %.2f\n", p50 * 1e3, p95 * 1e3, p99 * 1e3);
	}
	free(lat);
	fflush(stdout);
	return errors || timed_out ? 1 : 0;
}
