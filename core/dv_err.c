/* dv_err.c — the single table that maps an error to its API code, HTTP status
 * and default message. HTTP replies and TCP error frames both read it. */
#include "dv_err.h"
#include "dv_buf.h"

struct dv_err_info {
	const char *code;
	int status;
	const char *message;
};

static const struct dv_err_info dv_err_table[DV_ERR_COUNT_] = {
	[0] = {"ok", 200, "ok"},
	[-DV_EINTERNAL] = {"internal", 500, "internal error"},
	[-DV_ENOMEM] = {"out_of_memory", 503, "the server is out of memory"},
	[-DV_EBADREQUEST] = {"bad_request", 400, "the request is malformed"},
	[-DV_ENOTFOUND] = {"not_found", 404, "no such resource"},
	[-DV_EMETHOD] = {"method_not_allowed", 405, "method not allowed on this resource"},
	[-DV_ETOOLARGE] = {"body_too_large", 413, "the request body exceeds the configured limit"},
	[-DV_EMEDIATYPE] = {"unsupported_media_type", 415, "unsupported image type"},
	[-DV_EBADIMAGE] = {"bad_image", 422, "the image cannot be decoded"},
	[-DV_EIMAGETOOLARGE] = {"image_too_large", 413, "the image has more pixels than the configured limit"},
	[-DV_ENOFACE] = {"no_face", 422, "no face was found in the image"},
	[-DV_EOVERLOADED] = {"overloaded", 503, "the job queue is full, retry later"},
	[-DV_ESHUTDOWN] = {"shutting_down", 503, "the server is shutting down"},
	[-DV_EPLUGIN] = {"plugin_unavailable", 503, "a backend plugin is unavailable"},
	[-DV_EDBUNAVAIL] = {"database_unavailable", 503, "the database is unavailable"},
	[-DV_ENOPIPELINE] = {"no_pipeline", 404, "no pipeline is configured for this operation"},
	[-DV_EUNAUTHORIZED] = {"unauthorized", 401, "missing or invalid API key"},
	[-DV_EFORBIDDEN] = {"forbidden", 403, "not allowed"},
	[-DV_ETIMEOUT] = {"timeout", 503, "the request timed out"},
	[-DV_EBADFRAME] = {"bad_frame", 400, "malformed frame"},
	[-DV_ETOOMANYCONN] = {"too_many_connections", 503, "connection limit reached"},
	[-DV_EMULTIFACE] = {"multiple_faces", 422, "the image has several faces: name one with the box field"},
	[-DV_EDUPLICATE] = {"duplicate_face", 409, "this face is already enrolled as another person"},
	[-DV_ECONFLICT] = {"conflict", 409, "the resource conflicts with an existing one"},
	[-DV_EINVALID] = {"invalid_field", 422, "a field has an invalid value"},
	[-DV_EADDRLIMIT] = {"too_many_connections", 429, "this address holds too many connections (limits.connections_per_address)"},
	[-DV_EREQTIMEOUT] = {"request_timeout", 408, "the request did not arrive in time"},
	[-DV_EURITOOLONG] = {"uri_too_long", 414, "the request line is too long"},
	[-DV_EHEADTOOLARGE] = {"headers_too_large", 431, "the request's header fields are too large"},
	[-DV_EEXPECT] = {"expectation_failed", 417, "the only expectation served is 100-continue"},
	[-DV_ENOTIMPL] = {"not_implemented", 501, "the only transfer coding served is chunked"},
	[-DV_EHTTPVERSION] = {"http_version_not_supported", 505, "only HTTP/1.0 and HTTP/1.1 are served"},
	[-DV_ELOWQUALITY] = {"low_quality", 422, "the face's quality is too low to recognise it later"},
	[-DV_EINVALIDHOOK] = {"invalid_hook", 422, "the hook does not compile or its load-time code fails"},
	[-DV_ELIMIT] = {"limit_reached", 409, "a limit of the tenant is reached"},
	[-DV_ERATELIMITED] = {"rate_limited", 429, "this key's requests per minute are spent: retry after Retry-After seconds"},
	[-DV_EGONE] = {"event_face_gone", 410, "the recognition's face is no longer kept: send the photo instead"},
};

static const struct dv_err_info *dv_err_get(int err)
{
	if (err > 0)
		err = 0;
	if (err <= -DV_ERR_COUNT_ || !dv_err_table[-err].code)
		err = DV_EINTERNAL;
	return &dv_err_table[-err];
}

const char *dv_err_code(int err) { return dv_err_get(err)->code; }
int dv_err_http_status(int err) { return dv_err_get(err)->status; }
const char *dv_err_message(int err) { return dv_err_get(err)->message; }

void dv_err_json(struct dv_buf *b, int err, const char *msg)
{
	struct dv_json j;
	dv_json_init(&j, b);
	dv_json_obj_open(&j);
	dv_json_key(&j, "error");
	dv_json_obj_open(&j);
	dv_json_key(&j, "code");
	dv_json_str(&j, dv_err_code(err));
	dv_json_key(&j, "message");
	dv_json_str(&j, msg && *msg ? msg : dv_err_message(err));
	dv_json_obj_close(&j);
	dv_json_obj_close(&j);
}
