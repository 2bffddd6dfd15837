/* gallery_fill — puts N synthetic faces (random dlib-like 128-D vectors,
 * float32 little-endian) into a tenant's gallery with COPY, stamped with the
 * given model and fingerprint so that the matcher loads them: the benchmark's
 * large gallery.
 *   gallery_fill CONNINFO TENANT_ID N MODEL FINGERPRINT */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../util.h"

static unsigned long long rng = 0x2545f4914f6cdd1dULL;
static float urand(void) { return (float)(test_xorshift(&rng) >> 40) / 16777216.0f; }

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: gallery_fill CONNINFO TENANT_ID N MODEL FINGERPRINT\n");
		return 2;
	}
	PGconn *c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "gallery_fill: %s", PQerrorMessage(c));
		return 1;
	}
	long n = atol(argv[3]);
	const char *t = argv[2];
	char sql[512];
	/* one synthetic person per 100 faces */
	snprintf(sql, sizeof sql,
	    "INSERT INTO dv_persons (tenant_id, name) SELECT %s, 'synthetic ' || g FROM generate_series(1, %ld) g", t,
	    (n + 99) / 100);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "gallery_fill: %s", PQresultErrorMessage(r));
		return 1;
	}
	PQclear(r);
	snprintf(sql, sizeof sql, "SELECT min(id) FROM dv_persons WHERE tenant_id = %s AND name LIKE 'synthetic %%'", t);
	r = PQexec(c, sql);
	long first = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexec(c, "COPY dv_faces (tenant_id, person_id, embedding, dim, model, fingerprint) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fprintf(stderr, "gallery_fill: %s", PQresultErrorMessage(r));
		return 1;
	}
	PQclear(r);
	static const char hx[] = "0123456789abcdef";
	char line[2048];
	for (long i = 0; i < n; i++) {
		int k = snprintf(line, sizeof line, "%s\t%ld\t\\\\x", t, first + i / 100);
		for (int d = 0; d < 128; d++) {
			float v = (urand() + urand() + urand() + urand() - 2.0f) * 0.153f;
			uint8_t b[4];
			memcpy(b, &v, 4); /* x86 and arm64: little-endian, as dejaview stores vectors */
			for (int j = 0; j < 4; j++) {
				line[k++] = hx[b[j] >> 4];
				line[k++] = hx[b[j] & 15];
			}
		}
		k += snprintf(line + k, sizeof line - (size_t)k, "\t128\t%s\t%s\n", argv[4], argv[5]);
		if (PQputCopyData(c, line, k) != 1) {
			fprintf(stderr, "gallery_fill: %s", PQerrorMessage(c));
			return 1;
		}
	}
	PQputCopyEnd(c, NULL);
	r = PQgetResult(c);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "gallery_fill: %s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : 1;
}
