/*
 * fetch.c - the C example guest for outbound fetch (docs/cdn.md, "Outbound
 * fetch for guests"), the C twin of ../fetch (Go SDK).
 *
 * GET /proxy?url=U fetches U with the edge_v1 fetch host function
 * (edge_fetch in modules/sdk/c/edge.h) and answers with what came back:
 * the upstream's status, Content-Type and body, and X-Upstream-Cache set
 * to the X-Cache the node's HTTP cache reported (MISS the first time, HIT
 * once stored). U must be on the route's allowed_outbound_hosts (edge.toml
 * beside this file); the host refuses anything else with
 * EDGE_ERR_FETCH_REFUSED and an explanation, which the guest logs and
 * answers with 403 (other fetch errors: 502). A URL holding a space or a
 * control character is refused by the guest itself (400): it would end the
 * fetch request's line and smuggle header lines into it.
 *
 * Build (from modules/examples; build.sh does this):
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -I../sdk/c -o fetch-c/fetch.wasm fetch-c/fetch.c
 *   wasm-strip fetch-c/fetch.wasm
 */
#include "edge.h"

/* The longest URL the guest will fetch, decoded. */
#define URL_MAX_BYTES 2048

/* A GET's request fits here; a larger one is read into grown memory. */
static uint8_t scratch[8192];
/* A small answer fits here; a larger one (up to max_fetch_size) is read
 * into grown memory. */
static uint8_t answer[16384];

static const char text[] = "Content-Type: text/plain; charset=utf-8\n";

/* append copies n bytes to p and returns the end. */
static char *append(char *p, const char *s, size_t n) {
    while (n--) *p++ = *s++;
    return p;
}

/* fail answers status with a text body: msg, then extra (may be empty). */
static int32_t fail(int32_t status, const char *msg, const uint8_t *extra, size_t extra_len) {
    edge_respond(status, text, sizeof text - 1, msg, edge_strlen(msg));
    if (extra_len > 0) edge_body_write(extra, extra_len);
    edge_body_write("\n", 1);
    return 0;
}

/* plain reports whether the URL has no space or control character. */
static int plain(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f) return 0;
    }
    return 1;
}

/* The parts of a fetch answer: "STATUS\n", header lines, "\n", body. */
typedef struct {
    int32_t status;
    edge_req head; /* only head and head_len are set, for edge_header */
    const uint8_t *body; size_t body_len;
} answer_t;

/* parse_answer splits a fetch answer; -1 if it is not one. */
static int parse_answer(const uint8_t *buf, size_t len, answer_t *a) {
    const char *p = (const char *)buf, *end = p + len;
    int32_t status = 0;
    int digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
        status = status * 10 + (*p - '0');
    if (digits != 3 || p == end || *p != '\n') return -1;
    a->status = status;
    a->head.head = ++p;
    for (;;) { /* the head ends at the first empty line */
        if (p == end) return -1;
        if (*p == '\n') break;
        while (p < end && *p != '\n') p++;
        if (p == end) return -1;
        p++;
    }
    a->head.head_len = (size_t)(p - a->head.head);
    a->body = (const uint8_t *)p + 1;
    a->body_len = (size_t)(end - p - 1);
    return 0;
}

int32_t edge_handle(void) {
    size_t len;
    const uint8_t *buf = edge_request_read(scratch, sizeof scratch, &len);
    edge_req req;
    if (buf == NULL || edge_parse(buf, len, &req) != 0)
        return fail(500, "fetch-c: cannot read the request", 0, 0);

    static char url[URL_MAX_BYTES + 1];
    long n = edge_query_param(req.query, req.query_len, "url", url, sizeof url);
    if (n <= 0) return fail(400, "give ?url=https://an.allowed.host/path", 0, 0);
    if (n >= URL_MAX_BYTES) return fail(414, "fetch-c: url too long", 0, 0);
    if (!plain(url, (size_t)n)) return fail(400, "fetch-c: url holds a space or a control character", 0, 0);

    /* "GET " URL "\n\n": a GET with no header lines and no body. */
    static char freq[4 + URL_MAX_BYTES + 2];
    char *p = append(freq, "GET ", 4);
    p = append(p, url, (size_t)n);
    p = append(p, "\n\n", 2);

    int32_t code;
    size_t alen;
    const uint8_t *ans = edge_fetch_read(freq, (size_t)(p - freq), answer, sizeof answer, &alen, &code);
    if (ans == NULL) return fail(500, "fetch-c: no memory for the answer", 0, 0);
    if (code < 0) {
        /* The host's explanation, e.g. "edge_v1 fetch: ... is not in the
         * route's allowed_outbound_hosts": logged and passed on. */
        edge_log(ans, alen);
        return fail(code == EDGE_ERR_FETCH_REFUSED ? 403 : 502, "", ans, alen);
    }
    answer_t a;
    if (parse_answer(ans, alen, &a) != 0) return fail(502, "fetch-c: malformed fetch answer", 0, 0);

    /* X-Upstream-Cache, and the upstream's Content-Type if it had one.
     * Values come from header lines, so they hold no LF. */
    static char head[256 + 2 * 1024];
    char *h = head;
    size_t vlen;
    const char *v = edge_header(&a.head, "X-Cache", &vlen);
    if (v != NULL && vlen <= 1024) {
        h = append(h, "X-Upstream-Cache: ", 18);
        h = append(h, v, vlen);
        h = append(h, "\n", 1);
    }
    v = edge_header(&a.head, "Content-Type", &vlen);
    if (v != NULL && vlen <= 1024) {
        h = append(h, "Content-Type: ", 14);
        h = append(h, v, vlen);
        h = append(h, "\n", 1);
    }
    if (edge_respond(a.status, head, (size_t)(h - head), a.body, a.body_len) != EDGE_OK)
        return fail(502, "fetch-c: the upstream's answer cannot be passed on", 0, 0);
    return 0;
}
