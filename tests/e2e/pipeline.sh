#!/bin/sh
# End to end: pipelines of the example plugins over HTTP, and every client
# error answered with a JSON body, a stable code and the right status.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$DEFAULT_PLUGINS" "limits: {body_bytes: 64KiB, image_pixels: 20000, faces: 2}" "detect: {whole_image_max_side: 80}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
"$IMG" 100 60 10,10,20 50,20,16,250,250,200 >"$T/two.ppm"
"$IMG" 100 60 >"$T/none.ppm"
"$IMG" 70 60 >"$T/small.ppm"
"$IMG" 100 40 2,2,10 20,2,10 40,2,10 60,2,10 >"$T/four.ppm"
{ printf 'P5\n200 150\n255\n'; head -c 30000 /dev/zero; } >"$T/big.ppm"

http POST /v1/detect --data-binary @"$T/two.ppm" -H 'Content-Type: image/x-portable-pixmap'
is "$CODE" 200 "detect answers 200"
has "$BODY" '"box":{"x":10,"y":10,"w":20,"h":20},"score":1,"found_by":{"pass":"direct"},"landmarks":[[16,17]' "first face with box, score, how it was found and landmarks"
has "$BODY" '"box":{"x":50,"y":20,"w":16,"h":16}' "second face"
has "$BODY" '"face_count":2,"image"' "face count, not truncated"
has "$BODY" '"timings_ms":{"queue":' "timings"
has "$BODY" '"detect":' "detect stage timed"

http POST '/v1/recognize?top_k=5&threshold=0.3&location=door-1' --data-binary @"$T/two.ppm" -H 'Content-Type: image/x-portable-pixmap'
is "$CODE" 200 "recognize answers 200"
has "$BODY" '"match":null,"unknown":true,"uncertain":false,"decision":"unknown","candidates":[]' "an empty gallery gives unknown"
has "$BODY" '"threshold":0.3' "the request's threshold is used"
has "$BODY" '"model":{"embedder":"example_color_grid"' "the embedder is named"

http POST /v1/recognize --data-binary @"$T/none.ppm"
is "$CODE" 200 "no face is not an error for recognize"
has "$BODY" '"faces":[]' "an empty face list (the image is larger than detect.whole_image_max_side)"
http POST /v1/recognize --data-binary @"$T/small.ppm"
has "$BODY" '"faces":[{"box":{"x":0,"y":0,"w":70,"h":60},"score":0,"found_by":{"pass":"whole_image"}' "a small image without a detected face: the whole image is the face, and the reply says so"

http POST /v1/detect --data-binary @"$T/four.ppm"
has "$BODY" '"face_count":2,"faces_truncated":true,"faces_limit":2' "the faces limit keeps the best and says so"

http POST /v1/detect --data-binary 'this is not an image' -H 'Content-Type: image/jpeg'
is "$CODE" 415 "an unknown format is 415"
has "$BODY" '{"error":{"code":"unsupported_media_type","message":"unrecognised image format' "with a JSON error"
printf 'P6\n50 50\n255\nabc' >"$T/trunc.ppm"
http POST /v1/detect --data-binary @"$T/trunc.ppm"
is "$CODE" 422 "a truncated image is 422"
has "$BODY" '"code":"bad_image","message":"image data is truncated' "named bad_image"
http POST /v1/detect -H 'Content-Type: image/png'
is "$CODE" 422 "an empty body is 422"
has "$BODY" 'zero bytes' "and says so"
http POST /v1/detect --data-binary @"$T/big.ppm"
is "$CODE" 413 "an image over the pixel limit is 413"
has "$BODY" '"code":"image_too_large"' "named image_too_large"
head -c 70000 /dev/zero >"$T/huge"
http POST /v1/detect --data-binary @"$T/huge"
is "$CODE" 413 "a body over the size limit is 413 (from its Content-Length, before the body is read)"
has "$BODY" '{"error":{"code":"body_too_large","message":"the request body of 70000 bytes exceeds the limit of 65536 (limits.body_bytes)"}}' \
	"as our JSON error"
has "$HDRS" "Connection: close" "and the connection is closed"
http POST /v1/detect --data-binary @"$T/huge" -H 'Expect: 100-continue'
is "$CODE" 413 "with Expect: 100-continue, 413 instead of 100 Continue"
has "$BODY" '"code":"body_too_large"' "as JSON too"
http POST /v1/detect --data-binary @"$T/huge" -H 'Transfer-Encoding: chunked'
is "$CODE" 413 "a chunked body that grows over the limit: 413"
has "$BODY" '{"error":{"code":"body_too_large","message":"the request body exceeds the limit of 65536 bytes (limits.body_bytes)"}}' \
	"as JSON"
http POST /v1/detect --data-binary @"$T/two.ppm" -H 'Transfer-Encoding: chunked'
has "$BODY" '"face_count":2' "a chunked upload within the limit is served"
# the HTTP/1.1 framing itself, with raw requests
raw() { printf "$1" >"$T/raw"; "$DV_TOOLS/dv_stall" -t $((PATIENCE * 1000)) "$HTTP" send "$T/raw" 0; }
out=$(raw 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
is "$(printf '%s' "$out" | grep -c 'HTTP/1.1 200 OK')" 2 "two pipelined requests on one connection: two answers"
has "$out" 'Connection: close' "the second closes it, as asked"
out=$(raw 'GET /healthz HTTP/1.0\r\n\r\n')
has "$out" 'HTTP/1.1 200 OK' "HTTP/1.0 is served"
out=$(raw 'HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
has "$out" 'Content-Length: 15' "HEAD: the length of the body it would get"
case $out in *'"status"'*) ok 1 "HEAD: and no body" ;; *) ok 0 "HEAD: and no body" ;; esac
out=$(raw 'GARBAGE\r\n\r\n')
has "$out" 'HTTP/1.1 400 Bad Request' "a malformed request line: 400"
has "$out" '{"error":{"code":"bad_request","message":"the request line is not' "as JSON"
out=$(raw 'GET /healthz HTTP/2.0\r\n\r\n')
has "$out" '"code":"http_version_not_supported"' "another HTTP version: 505, as JSON"
out=$(raw 'POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n')
has "$out" 'both Content-Length and Transfer-Encoding' "Content-Length with Transfer-Encoding is refused (request smuggling)"
out=$(raw 'GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n')
has "$out" 'HTTP/1.1 400 ' "a space before a header's colon is refused"
out=$(raw 'POST /v1/detect HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n')
has "$out" '"code":"not_implemented"' "an unknown transfer coding: 501, as JSON"
http POST /v1/detect --data-binary @"$T/two.ppm" -H 'Content-Type: text/html'
is "$CODE" 415 "a non-image content type is 415"
http POST '/v1/recognize?top_k=0' --data-binary @"$T/two.ppm"
is "$CODE" 400 "top_k out of range is 400"
has "$BODY" '"code":"bad_request","message":"top_k must be an integer from 1 to 100"' "with the reason"
http POST '/v1/recognize?threshold=abc' --data-binary @"$T/two.ppm"
is "$CODE" 400 "a bad threshold is 400"
http POST '/v1/recognize?colour=red' --data-binary @"$T/two.ppm"
has "$BODY" "unknown query parameter 'colour'" "unknown query parameters are refused"
http GET /v1/recognize
is "$CODE" 405 "GET on recognize is 405"
has "$HDRS" 'Allow: POST' "405 names POST"
http GET /v1/nothing
is "$CODE" 404 "unknown paths are 404"
has "$BODY" '"code":"not_found"' "with a JSON error"

http POST /v1/detect --data-binary @"$T/two.ppm"
is "$CODE" 200 "the server still serves after every error"
http GET /metrics
has "$BODY" 'dv_requests_total{route="/v1/detect",status="415"} 2' "errors counted by route and status"

# A pipeline that is not configured.
write_conf "$T/d.yaml" 'plugins:
  detector: { so: detect_example }
pipelines:
  detect: [decode, detect]'
dv_stop
dv_start "$T/d.yaml"
http POST /v1/recognize --data-binary @"$T/two.ppm"
is "$CODE" 404 "an operation without a pipeline is 404"
has "$BODY" '"code":"no_pipeline"' "named no_pipeline"
http POST /v1/detect --data-binary @"$T/two.ppm"
has "$BODY" '"face_count":2' "a two-stage pipeline runs"
case $BODY in *landmarks*) ok 1 "stages not configured do not run" ;; *) ok 0 "stages not configured do not run" ;; esac
done_testing
