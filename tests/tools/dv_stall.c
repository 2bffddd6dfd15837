/* dv_stall — stalled and slow clients, for the tests of the listeners'
 * limits and deadlines.
 *
 *   dv_stall [-b SRC] PORT hold N FILE
 *       open N connections to 127.0.0.1:PORT (from the local address SRC),
 *       send FILE's bytes on each (e.g. half a request header) and keep them
 *       open. Prints "connected N" once every connect is done, then, on
 *       SIGTERM, "held=H refused=R": R connections the server answered or
 *       closed (a 429 or an error frame), H still open and silent. With
 *       -r FILE, the first refusal's bytes go to FILE.
 *   dv_stall [-b SRC] [-t MS] PORT send FILE RATE
 *       send FILE at RATE bytes per second (0: at once), then read until the
 *       server closes or -t MS pass (default 60000). Prints
 *       "sent=N elapsed_ms=E total_ms=T" (E from the last byte sent to the
 *       close, T from the first) and what the server sent. */
#include "../util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int dial(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (src) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
	if (connect(fd, (struct sockaddr *)&d, sizeof d) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static int hold(const char *src, int port, int n, const uint8_t *bytes, size_t len, const char *first_refusal)
{
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	int *refused = calloc((size_t)n, sizeof *refused);
	if (!pf || !refused)
		return 2;
	int opened = 0;
	for (int i = 0; i < n; i++) {
		pf[i].fd = dial(src, port);
		pf[i].events = POLLIN;
		if (pf[i].fd < 0) {
			refused[i] = 1; /* refused at connect */
			continue;
		}
		opened++;
		if (len && send(pf[i].fd, bytes, len, MSG_NOSIGNAL) < 0)
			; /* the server may already have answered and closed */
	}
	printf("connected %d\n", opened);
	fflush(stdout);
	int saved = 0;
	while (!stop) {
		int r = poll(pf, (nfds_t)n, 200);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && r > 0; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char buf[4096];
			ssize_t got = recv(pf[i].fd, buf, sizeof buf, 0);
			if (got > 0 && !saved && first_refusal) {
				FILE *f = fopen(first_refusal, "wb");
				if (f) {
					fwrite(buf, 1, (size_t)got, f);
					fclose(f);
				}
				saved = 1;
			}
			refused[i] = 1;
			close(pf[i].fd);
			pf[i].fd = -1;
		}
	}
	int held = 0, nref = 0;
	for (int i = 0; i < n; i++) {
		if (pf[i].fd >= 0) {
			held++;
			close(pf[i].fd);
		}
		nref += refused[i];
	}
	printf("held=%d refused=%d\n", held, nref);
	free(pf);
	free(refused);
	return 0;
}

static int sendslow(const char *src, int port, const uint8_t *bytes, size_t len, double rate, int timeout_ms)
{
	int fd = dial(src, port);
	if (fd < 0) {
		printf("cannot connect\n");
		return 1;
	}
	size_t sent = 0;
	double t_first = test_now_ms();
	/* in steps of a tenth of a second's worth */
	size_t step = rate > 0 ? (size_t)(rate / 10) : len;
	if (step == 0)
		step = 1;
	while (sent < len) {
		size_t n = len - sent < step ? len - sent : step;
		ssize_t w = send(fd, bytes + sent, n, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server closed: it answered or cut us */
		sent += (size_t)w;
		if (rate > 0 && sent < len) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, (int)(1000.0 * (double)n / rate)) > 0)
				break; /* an answer before the end: stop sending, read it */
		}
	}
	double t0 = test_now_ms();
	char *out = NULL;
	size_t olen = 0;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		double left = timeout_ms - (test_now_ms() - t0);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			printf("timeout\n");
			break;
		}
		char buf[4096];
		ssize_t got = recv(fd, buf, sizeof buf, 0);
		if (got <= 0)
			break;
		out = realloc(out, olen + (size_t)got + 1);
		memcpy(out + olen, buf, (size_t)got);
		olen += (size_t)got;
		out[olen] = 0;
	}
	printf("sent=%zu elapsed_ms=%.0f total_ms=%.0f\n", sent, test_now_ms() - t0, test_now_ms() - t_first);
	if (out)
		fwrite(out, 1, olen, stdout);
	printf("\n");
	free(out);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *src = NULL, *first = NULL;
	int timeout_ms = 60000, a = 1;
	while (a + 1 < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "-b"))
			src = argv[a + 1];
		else if (!strcmp(argv[a], "-t"))
			timeout_ms = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "-r"))
			first = argv[a + 1];
		else
			break;
		a += 2;
	}
	if (argc - a < 3) {
		fprintf(stderr, "usage: dv_stall [-b SRC] [-t MS] [-r FILE] PORT hold N FILE | PORT send FILE RATE\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int port = atoi(argv[a]);
	const char *cmd = argv[a + 1];
	size_t len = 0;
	if (!strcmp(cmd, "hold") && argc - a == 4) {
		uint8_t *b = slurp(argv[a + 3], &len);
		if (!b)
			return 2;
		int r = hold(src, port, atoi(argv[a + 2]), b, len, first);
		free(b);
		return r;
	}
	if (!strcmp(cmd, "send") && argc - a == 4) {
		uint8_t *b = slurp(argv[a + 2], &len);
		if (!b)
			return 2;
		int r = sendslow(src, port, b, len, atof(argv[a + 3]), timeout_ms);
		free(b);
		return r;
	}
	fprintf(stderr, "dv_stall: unknown command\n");
	return 2;
}
