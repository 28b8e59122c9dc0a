/*
 * hello.c - the C demo guest for the edge ABI (docs/edge-abi.md).
 *
 * The host calls edge_handle once per request; the guest reads the request
 * with one call and answers with another, through the edge_v1 imports
 * declared in modules/sdk/c/edge.h. No WASI, no environment, no libc
 * calls: the module is a reactor a few KB in size.
 *
 * Response: "Hello, <name>! (from C, edge ABI)" where name is the
 * URL-decoded "name" query parameter (default "world", capped at 256
 * bytes), like the WAGI guest in ../hello-c, minus the GREETING variable:
 * the edge ABI has no environment.
 *
 * Build (from modules/examples; build.sh does this):
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -I../sdk/c -o demo/hello-edge.wasm hello-edge-c/hello.c
 *   wasm-strip demo/hello-edge.wasm
 */
#include "edge.h"

/* Cap the decoded name so a huge query string cannot produce a huge answer. */
#define NAME_MAX_BYTES 256

/* A GET's request fits here; a larger one is read into grown memory. */
static uint8_t scratch[8192];

static const char head[] = "Content-Type: text/plain; charset=utf-8\n";

/* append copies n bytes to p and returns the end. */
static char *append(char *p, const char *s, size_t n) {
    while (n--) *p++ = *s++;
    return p;
}

int32_t edge_handle(void) {
    size_t len;
    const uint8_t *buf = edge_request_read(scratch, sizeof scratch, &len);
    edge_req req;
    if (buf == NULL || edge_parse(buf, len, &req) != 0) {
        static const char msg[] = "hello-edge: cannot read the request";
        edge_log(msg, sizeof msg - 1);
        edge_respond(500, head, sizeof head - 1, "error\n", 6);
        return 0;
    }

    char name[NAME_MAX_BYTES + 1];
    long n = edge_query_param(req.query, req.query_len, "name", name, sizeof name);
    if (n <= 0) {
        static const char world[] = "world";
        n = sizeof world - 1;
        append(name, world, (size_t)n);
    }

    static const char hello[] = "Hello, ", tail[] = "! (from C, edge ABI)\n";
    char body[sizeof hello - 1 + NAME_MAX_BYTES + sizeof tail - 1];
    char *p = append(body, hello, sizeof hello - 1);
    p = append(p, name, (size_t)n);
    p = append(p, tail, sizeof tail - 1);
    edge_respond(200, head, sizeof head - 1, body, (size_t)(p - body));
    return 0;
}
