/*
 * edge.h - the edge ABI, version 1, for guests written in C.
 *
 * The edge ABI (docs/edge-abi.md, executor "edge" in edge.toml) hands a
 * guest the whole request in one call and takes the response in another:
 * no WASI, no environment, no CGI text. This header declares the six host
 * functions of the import module "edge_v1" and a few helpers around them.
 * It is self-contained C99 and needs no libc. Build a reactor (a module
 * without _start; memory is exported by default, and edge_handle because
 * it is declared below with export_name):
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -o app.wasm app.c                      (with wasi-libc)
 *   clang --target=wasm32-wasi -O2 -nostdlib -Wl,--no-entry \
 *         -o app.wasm app.c                      (without libc)
 *
 * Without libc, provide memcpy and memset yourself: clang turns copy and
 * fill loops into calls to them. Linking wasi-libc costs little, since only
 * what is used is linked; the demo guest is about 3 KB.
 *
 * and define the entry point the host calls once per request:
 *
 *   #include "edge.h"
 *
 *   int32_t edge_handle(void) {
 *       static const char head[] = "Content-Type: text/plain\n";
 *       static const char body[] = "hello\n";
 *       edge_respond(200, head, sizeof head - 1, body, sizeof body - 1);
 *       return 0;
 *   }
 *
 * Every request runs in a fresh instance, so a guest may keep state in
 * globals and never free memory: it all goes away when edge_handle returns.
 */
#ifndef EDGE_H
#define EDGE_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__wasm32__)
#error "edge.h is for WebAssembly guests: build with --target=wasm32-wasi (or wasm32-unknown-unknown)"
#endif

/* The ABI version this header speaks; it is part of the import module name. */
#define EDGE_ABI_VERSION 1

/* Results of edge_respond and edge_body_write. */
#define EDGE_OK           0
#define EDGE_ERR_STATUS  (-1) /* status outside 200-599 */
#define EDGE_ERR_HEADER  (-2) /* malformed or forbidden header (Content-Length, Transfer-Encoding, Connection) */
#define EDGE_ERR_STATE   (-3) /* respond called twice, or body_write before respond */
#define EDGE_ERR_LIMIT   (-4) /* over the route's output limit; the request ends with 502 */

/* Results of edge_fetch: why an outbound request was refused or failed.
 * edge_fetch_response then holds the host's explanation as text. */
#define EDGE_ERR_FETCH_REFUSED   (-5) /* not in allowed_outbound_hosts, or an internal address */
#define EDGE_ERR_FETCH_COUNT     (-6) /* more fetches than the route's max_fetches */
#define EDGE_ERR_FETCH_TOO_LARGE (-7) /* response body over the route's max_fetch_size */
#define EDGE_ERR_FETCH_FAILED    (-8) /* network error, or the request's deadline passed */
#define EDGE_ERR_FETCH_BAD       (-9) /* malformed request: not METHOD SP URL, a bad header */

#ifdef __cplusplus
extern "C" {
#endif

#define EDGE_IMPORT_(name) __attribute__((import_module("edge_v1"), import_name(name)))

/*
 * edge_request copies the request into buf and returns its total length.
 * If cap is smaller than the total, nothing is copied: call again with a
 * buffer that large (or use edge_request_read below). The request is
 *
 *   METHOD SP REQUEST-URI LF        "GET /api/hello?name=x\n"
 *   NAME: VALUE LF                  one per header value, canonical names, Host always present
 *   LF                              end of the head
 *   BODY                            the raw request body, possibly empty
 *
 * A buffer outside the guest's memory traps the request (500).
 */
EDGE_IMPORT_("request")
int32_t edge_request(void *buf, size_t cap);

/*
 * edge_respond sets the status (200-599), the header lines ("Name: value\n"
 * each, no blank line at the end; head_len may be 0) and the first part of
 * the body. It returns EDGE_OK or one of the EDGE_ERR_* codes; only one
 * call per request succeeds.
 */
EDGE_IMPORT_("respond")
int32_t edge_respond(int32_t status, const void *head, size_t head_len,
                     const void *body, size_t body_len);

/*
 * edge_body_write appends to the body after edge_respond. It returns
 * EDGE_OK, EDGE_ERR_STATE before edge_respond, or EDGE_ERR_LIMIT.
 */
EDGE_IMPORT_("body_write")
int32_t edge_body_write(const void *buf, size_t len);

/* edge_log writes one line to the node's log, tagged with the request id. */
EDGE_IMPORT_("log")
void edge_log(const void *buf, size_t len);

/*
 * edge_fetch makes an outbound HTTP request (docs/edge-abi.md), allowed
 * only to the hosts the route lists in allowed_outbound_hosts. The request
 * is text like edge_request's, with an absolute URL:
 *
 *   METHOD SP URL LF                "GET https://api.example.com/v1/x\n"
 *   NAME: VALUE LF                  zero or more
 *   LF
 *   BODY
 *
 * It returns the length of the answer, which edge_fetch_response copies:
 *
 *   STATUS LF                       "200\n"
 *   NAME: VALUE LF                  the response's header lines (X-Cache: HIT|MISS|STALE for a GET)
 *   LF
 *   BODY
 *
 * or a negative EDGE_ERR_FETCH_* code, and then edge_fetch_response holds
 * the reason as text. GETs go through the node's HTTP cache; redirects are
 * followed to allowed hosts only; the request's deadline bounds the wait.
 */
EDGE_IMPORT_("fetch")
int32_t edge_fetch(const void *req, size_t len);

/*
 * edge_fetch_response copies the last fetch's answer (or error text) into
 * buf and returns its length; if cap is smaller, nothing is copied.
 */
EDGE_IMPORT_("fetch_response")
int32_t edge_fetch_response(void *buf, size_t cap);

#undef EDGE_IMPORT_

/*
 * edge_handle is the guest's entry point, defined by the application and
 * called once per request (after _initialize, if exported). Declaring it
 * here with export_name exports it without a linker flag. Return 0.
 */
__attribute__((export_name("edge_handle")))
int32_t edge_handle(void);

/* ---- Helpers. All static inline, none needs libc. ---- */

/* edge_strlen is strlen for code built without libc. */
static inline size_t edge_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* edge_log_str logs a NUL-terminated string. */
static inline void edge_log_str(const char *s) { edge_log(s, edge_strlen(s)); }

/*
 * edge_request_read fetches the whole request. It tries scratch (cap
 * bytes; may be NULL with cap 0) and, when the request is larger, grows
 * the linear memory by enough pages to hold it. It returns the request and
 * sets *len, or returns NULL when the memory cannot grow (the route's
 * memory limit). Grown memory is never given back, which is fine since the
 * instance lives for one request; wasi-libc's malloc gets its memory the
 * same way and steps over pages taken here.
 */
static inline uint8_t *edge_request_read(void *scratch, size_t cap, size_t *len) {
    size_t n = (size_t)(uint32_t)edge_request(scratch, cap);
    *len = n;
    if (n <= cap) return (uint8_t *)scratch;
    size_t pages = (n + 65535) / 65536;
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1) return NULL;
    uint8_t *buf = (uint8_t *)(old * 65536);
    edge_request(buf, n);
    return buf;
}

/*
 * edge_fetch_read makes a fetch and returns its answer (or, with *code
 * negative, the host's error text) in scratch or in grown memory, as
 * edge_request_read does, setting *len. NULL when memory cannot grow.
 */
static inline uint8_t *edge_fetch_read(const void *req, size_t req_len, void *scratch, size_t cap, size_t *len, int32_t *code) {
    *code = edge_fetch(req, req_len);
    size_t n = (size_t)(uint32_t)edge_fetch_response(scratch, cap);
    *len = n;
    if (n <= cap) return (uint8_t *)scratch;
    size_t pages = (n + 65535) / 65536;
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1) return NULL;
    uint8_t *buf = (uint8_t *)(old * 65536);
    edge_fetch_response(buf, n);
    return buf;
}

/* The parts of a request, pointing into the buffer it was parsed from. */
typedef struct {
    const char *method; size_t method_len;
    const char *uri;    size_t uri_len;   /* path and query as sent */
    const char *path;   size_t path_len;  /* uri up to '?' */
    const char *query;  size_t query_len; /* after '?', empty if none */
    const char *head;   size_t head_len;  /* the "Name: value\n" lines */
    const uint8_t *body; size_t body_len;
} edge_req;

/*
 * edge_parse splits a request read with edge_request. It returns 0, or -1
 * if buf does not hold a request line and a head ending in an empty line.
 */
static inline int edge_parse(const uint8_t *buf, size_t len, edge_req *r) {
    const char *s = (const char *)buf, *end = s + len, *p = s;
    while (p < end && *p != ' ' && *p != '\n') p++;
    if (p == end || *p != ' ') return -1;
    r->method = s; r->method_len = (size_t)(p - s);
    r->uri = ++p;
    while (p < end && *p != '\n') p++;
    if (p == end) return -1;
    r->uri_len = (size_t)(p - r->uri);
    r->path = r->uri; r->path_len = r->uri_len;
    r->query = r->uri + r->uri_len; r->query_len = 0;
    for (size_t i = 0; i < r->uri_len; i++) {
        if (r->uri[i] == '?') {
            r->path_len = i;
            r->query = r->uri + i + 1;
            r->query_len = r->uri_len - i - 1;
            break;
        }
    }
    r->head = ++p;
    /* The head ends at the first empty line: at once, or after an LF. */
    for (;;) {
        if (p == end) return -1;
        if (*p == '\n') break;
        while (p < end && *p != '\n') p++;
        if (p == end) return -1;
        p++;
    }
    r->head_len = (size_t)(p - r->head);
    r->body = (const uint8_t *)p + 1;
    r->body_len = (size_t)(end - p - 1);
    return 0;
}

static inline char edge_lower_(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/*
 * edge_header finds the first value of the header called name (any case)
 * and sets *len, or returns NULL. The value is not NUL-terminated.
 */
static inline const char *edge_header(const edge_req *r, const char *name, size_t *len) {
    size_t nl = edge_strlen(name);
    const char *p = r->head, *end = r->head + r->head_len;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\n') eol++;
        if ((size_t)(eol - p) > nl + 1 && p[nl] == ':') {
            size_t i = 0;
            while (i < nl && edge_lower_(p[i]) == edge_lower_(name[i])) i++;
            if (i == nl) {
                const char *v = p + nl + 1;
                while (v < eol && (*v == ' ' || *v == '\t')) v++;
                *len = (size_t)(eol - v);
                return v;
            }
        }
        p = eol + 1;
    }
    return NULL;
}

static inline int edge_hex_(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * edge_url_decode decodes form-urlencoded bytes [s, s+n) into out ("+" is
 * a space, "%XX" a byte), keeping at most cap-1 bytes and a NUL after them
 * (cap must be at least 1). It returns the kept length, or -1 for a
 * malformed escape.
 */
static inline long edge_url_decode(const char *s, size_t n, char *out, size_t cap) {
    const char *end = s + n;
    size_t k = 0;
    while (s < end) {
        char c = *s++;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = end - s >= 2 ? edge_hex_(s[0]) : -1;
            int lo = end - s >= 2 ? edge_hex_(s[1]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi << 4 | lo);
            s += 2;
        }
        if (k + 1 < cap) out[k++] = c;
    }
    out[k] = '\0';
    return (long)k;
}

/* edge_key_eq_ reports whether the form-urlencoded [s, end) decodes to key. */
static inline int edge_key_eq_(const char *s, const char *end, const char *key) {
    while (s < end) {
        char c = *s++;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = end - s >= 2 ? edge_hex_(s[0]) : -1;
            int lo = end - s >= 2 ? edge_hex_(s[1]) : -1;
            if (hi < 0 || lo < 0) return 0;
            c = (char)(hi << 4 | lo);
            s += 2;
        }
        if (*key == '\0' || *key != c) return 0;
        key++;
    }
    return *key == '\0';
}

/*
 * edge_query_param decodes the value of the first pair named key in the
 * query string [q, q+n) into out, as edge_url_decode does. It follows Go's
 * url.ParseQuery and Values.Get: pairs are separated by '&', names are
 * decoded too, "key" alone has an empty value, and pairs that contain a
 * ';' or a malformed escape are skipped. It returns the decoded length
 * (possibly 0), or -1 when the key is absent; out always holds a
 * NUL-terminated string (the value may itself contain NULs from "%00").
 */
static inline long edge_query_param(const char *q, size_t n, const char *key, char *out, size_t cap) {
    const char *end = q + n;
    out[0] = '\0';
    while (q < end) {
        const char *amp = q, *eq = NULL;
        int semi = 0;
        for (; amp < end && *amp != '&'; amp++) {
            if (*amp == ';') semi = 1;
            if (*amp == '=' && eq == NULL) eq = amp;
        }
        if (!semi && amp > q && edge_key_eq_(q, eq ? eq : amp, key)) {
            if (eq == NULL) {
                out[0] = '\0';
                return 0;
            }
            long v = edge_url_decode(eq + 1, (size_t)(amp - eq - 1), out, cap);
            if (v >= 0) return v;
        }
        q = amp + 1;
    }
    out[0] = '\0';
    return -1;
}

#ifdef __cplusplus
}
#endif

#endif /* EDGE_H */
