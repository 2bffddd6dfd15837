/* dv_err.h — the one error enum of the daemon and its mapping to the stable
 * API code and HTTP status. Functions return 0 on success, a negative
 * dv_err value on failure, a positive value for non-error outcomes. */
#ifndef DV_ERR_H
#define DV_ERR_H

enum dv_err {
	DV_OK = 0,
	DV_EINTERNAL = -1,
	DV_ENOMEM = -2,
	DV_EBADREQUEST = -3,
	DV_ENOTFOUND = -4,
	DV_EMETHOD = -5,
	DV_ETOOLARGE = -6,
	DV_EMEDIATYPE = -7,
	DV_EBADIMAGE = -8,
	DV_EIMAGETOOLARGE = -9,
	DV_ENOFACE = -10,
	DV_EOVERLOADED = -11,
	DV_ESHUTDOWN = -12,
	DV_EPLUGIN = -13,
	DV_EDBUNAVAIL = -14,
	DV_ENOPIPELINE = -15,
	DV_EUNAUTHORIZED = -16,
	DV_EFORBIDDEN = -17,
	DV_ETIMEOUT = -18,
	DV_EBADFRAME = -19,
	DV_ETOOMANYCONN = -20,
	DV_EMULTIFACE = -21,     /* several faces and the client named none */
	DV_EDUPLICATE = -22,     /* the face is already enrolled as another person (refused by the tenant) */
	DV_ECONFLICT = -23,      /* e.g. an external_id already in use */
	DV_EINVALID = -24,       /* well-formed but invalid field values */
	DV_EADDRLIMIT = -25,     /* this client address holds limits.connections_per_address */
	DV_EREQTIMEOUT = -26,    /* the request's head or body did not arrive in time */
	DV_EURITOOLONG = -27,
	DV_EHEADTOOLARGE = -28,
	DV_EEXPECT = -29,        /* an Expect other than 100-continue */
	DV_ENOTIMPL = -30,       /* a transfer coding other than chunked */
	DV_EHTTPVERSION = -31,
	DV_ELOWQUALITY = -32,    /* an enrolment photo under quality.min_enrol */
	DV_EINVALIDHOOK = -33,   /* Lua that does not compile or whose load-time code fails */
	DV_ELIMIT = -34,         /* a per-tenant count limit (e.g. hooks.max_per_tenant) */
	DV_ERATELIMITED = -35,   /* the key's rate_per_minute is spent (429 + Retry-After) */
	DV_EGONE = -36,          /* a recognition's face no longer kept (events.face_ttl, or added already) */
	DV_ERR_COUNT_ = 37
};

/* Stable machine-readable code, e.g. "no_face". */
const char *dv_err_code(int err);
/* HTTP status for the error, e.g. 422. */
int dv_err_http_status(int err);
/* Default human-readable message. */
const char *dv_err_message(int err);

struct dv_buf;
/* Append {"error":{"code","message"}} to b; msg NULL or "" = the default. */
void dv_err_json(struct dv_buf *b, int err, const char *msg);
#endif
