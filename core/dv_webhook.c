/* dv_webhook.c — a minimal blocking HTTP/1.1 client for webhooks. */
#include "dv_webhook.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int dv_url_split(const char *url, char *host, size_t hl, char *port, size_t pl, const char **path)
{
	if (strncmp(url, "http://", 7))
		return -1;
	const char *h = url + 7, *e = h;
	while (*e && *e != '/' && *e != ':' && *e != '?')
		e++;
	if (e == h || (size_t)(e - h) >= hl)
		return -1;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = 0;
	snprintf(port, pl, "80");
	if (*e == ':') {
		const char *p = ++e;
		while (*e >= '0' && *e <= '9')
			e++;
		if (e == p || (size_t)(e - p) >= pl || atoi(p) < 1 || atoi(p) > 65535)
			return -1;
		memcpy(port, p, (size_t)(e - p));
		port[e - p] = 0;
	}
	if (*e && *e != '/' && *e != '?')
		return -1;
	*path = *e ? e : "/";
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return -1;
	return 0;
}

int dv_webhook_url_ok(const char *url, char *err, size_t errlen)
{
	char host[256], port[8];
	const char *path;
	if (!url || strlen(url) > 2000 || dv_url_split(url, host, sizeof host, port, sizeof port, &path) != 0) {
		snprintf(err, errlen, "webhook must be an http://host[:port]/path URL (https is not supported: put a proxy in front)");
		return -1;
	}
	return 0;
}

static long dv_ms_left(const struct timespec *end)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

int dv_webhook_post(const char *url, const char *body, size_t len, int timeout_ms)
{
	char host[256], port[8];
	const char *path;
	if (dv_url_split(url, host, sizeof host, port, sizeof port, &path) != 0)
		return 0;
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return 0;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int status = 0;
	if (fd < 0)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto out;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, (int)dv_ms_left(&end)) != 1)
		goto out;
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr)
		goto out;
	char head[2600];
	int hn = snprintf(head, sizeof head,
	    "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	    "User-Agent: dejaviewd\r\nConnection: close\r\n\r\n",
	    path, host, port, len);
	const char *parts[2] = {head, body};
	size_t lens[2] = {(size_t)hn, len};
	for (int k = 0; k < 2; k++)
		for (size_t off = 0; off < lens[k];) {
			ssize_t w = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				goto out;
			p.events = POLLOUT;
			if (dv_ms_left(&end) <= 0 || poll(&p, 1, (int)dv_ms_left(&end)) != 1)
				goto out;
		}
	char resp[64];
	size_t got = 0;
	while (got < sizeof resp - 1) {
		ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		p.events = POLLIN;
		if (dv_ms_left(&end) <= 0 || poll(&p, 1, (int)dv_ms_left(&end)) != 1)
			break;
	}
	resp[got] = 0;
	int code;
	if (sscanf(resp, "HTTP/1.%*d %d", &code) == 1)
		status = code;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return status;
}
