/*
 * hello.c - a minimal WAGI guest written in C against wasi-libc.
 *
 * WAGI is CGI over WASI: the host passes the request as environment
 * variables (QUERY_STRING, REQUEST_METHOD, ...) and the body on stdin;
 * the guest writes CGI headers, a blank line and the body to stdout.
 *
 * Response: "<GREETING>, <name>! (from C)" where name comes from the
 * "name" query parameter (default "world") and GREETING from the route's
 * env (default "Hello").
 *
 * Build: clang --target=wasm32-wasi --sysroot=/usr -O2 -o hello.wasm hello.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cap the decoded name so a huge query string cannot produce a huge answer. */
#define NAME_MAX_BYTES 256

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * Decode the form-urlencoded bytes [s, end) into out (capacity cap,
 * NUL-terminated, silently truncated). "+" becomes a space and "%XX" a
 * byte. Returns the decoded length, or -1 for a malformed escape, which
 * the caller treats like Go's url.ParseQuery does: the pair is skipped.
 */
static long url_decode(const char *s, const char *end, char *out, size_t cap) {
    size_t n = 0;
    while (s < end) {
        char c = *s++;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = end - s >= 2 ? hexval(s[0]) : -1;
            int lo = end - s >= 2 ? hexval(s[1]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            s += 2;
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return (long)n;
}

/*
 * Decode the value of the first well-formed "name=" parameter of the query
 * string into out. Returns the decoded length, 0 when absent.
 */
static size_t query_name(const char *q, char *out, size_t cap) {
    while (q && *q) {
        const char *amp = strchr(q, '&');
        const char *end = amp ? amp : q + strlen(q);
        if (end - q >= 5 && memcmp(q, "name=", 5) == 0) {
            long n = url_decode(q + 5, end, out, cap);
            if (n >= 0)
                return (size_t)n;
        }
        q = amp ? amp + 1 : NULL;
    }
    out[0] = '\0';
    return 0;
}

int main(void) {
    char name[NAME_MAX_BYTES + 1];
    const char *greeting = getenv("GREETING");

    if (query_name(getenv("QUERY_STRING"), name, sizeof name) == 0)
        strcpy(name, "world");
    if (greeting == NULL || *greeting == '\0')
        greeting = "Hello";

    printf("Content-Type: text/plain; charset=utf-8\n\n%s, %s! (from C)\n",
           greeting, name);
    return 0;
}
