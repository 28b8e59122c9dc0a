package modules

import (
	"os"
	"regexp"
	"testing"
)

// TestFetchCodesMatchCHeader: the fetch result codes the C SDK's edge.h
// gives guests (EDGE_ERR_FETCH_*) are the ones the host returns
// (EDGE_ABI_ERR_FETCH_* in capi.h), name by name, and edge.h declares
// edge_fetch and edge_fetch_response as imports of edge_v1: a C guest
// built against the header reads the host's refusals right.
func TestFetchCodesMatchCHeader(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sdk, host := read("sdk/c/edge.h"), read("capi.h")
	sdkCodes := map[string]string{}
	for _, m := range regexp.MustCompile(`#define EDGE_ERR_FETCH_(\w+)\s+\((-\d+)\)`).FindAllStringSubmatch(sdk, -1) {
		sdkCodes[m[1]] = m[2]
	}
	hostCodes := map[string]string{}
	for _, m := range regexp.MustCompile(`EDGE_ABI_ERR_FETCH_(\w+) = (-\d+)`).FindAllStringSubmatch(host, -1) {
		hostCodes[m[1]] = m[2]
	}
	if len(hostCodes) == 0 || len(sdkCodes) != len(hostCodes) {
		t.Fatalf("edge.h has fetch codes %v, capi.h %v", sdkCodes, hostCodes)
	}
	for name, v := range hostCodes {
		if sdkCodes[name] != v {
			t.Errorf("EDGE_ERR_FETCH_%s: edge.h says %q, the host returns %s", name, sdkCodes[name], v)
		}
	}
	for imp, fn := range map[string]string{"fetch": "edge_fetch", "fetch_response": "edge_fetch_response"} {
		if !regexp.MustCompile(`EDGE_IMPORT_\("` + imp + `"\)\s+\w+ ` + fn + `\(`).MatchString(sdk) {
			t.Errorf("edge.h does not declare %s as the edge_v1 import %q", fn, imp)
		}
	}
}
