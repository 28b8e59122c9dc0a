package modules

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/cpu"
)

// engineSettings names the fixed settings of NewEngineWith that change the
// code Cranelift emits. Change it whenever the engine's configuration
// changes, so old artifacts miss instead of loading.
const engineSettings = "epoch-interruption=1;pooling=1;wasi=p1;v2"

// fingerprint identifies the code an engine produces: the Wasmtime
// version, the target, the CPU features codegen may use, and the engine
// settings. Artifacts are keyed by it.
func fingerprint(optLevel string) [32]byte {
	parts := []string{
		"wasmtime-go " + wasmtimeVersion(),
		"target " + targetTriple(""),
		"cpu " + cpuFeatures(),
		"settings " + engineSettings + ";opt=" + optLevel,
	}
	return sha256.Sum256([]byte(strings.Join(parts, "\n")))
}

// Fingerprint is the engine's fingerprint, the second half of an artifact's
// key.
func (e *Engine) Fingerprint() [32]byte { return e.fingerprint }

// Target is the target triple the engine compiles for.
func (e *Engine) Target() string { return targetTriple("") }

func wasmtimeVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if strings.HasPrefix(d.Path, "github.com/bytecodealliance/wasmtime-go") {
				if d.Replace != nil {
					return d.Path + "@" + d.Replace.Version
				}
				return d.Path + "@" + d.Version
			}
		}
	}
	return "unknown"
}

func targetTriple(target string) string {
	if target != "" {
		return target
	}
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "riscv64": "riscv64gc", "s390x": "s390x"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	return fmt.Sprintf("%s-unknown-%s-gnu", arch, runtime.GOOS)
}

// cpuFeatures lists the host features Cranelift checks when it compiles
// for the native CPU.
func cpuFeatures() string {
	var f []string
	add := func(name string, on bool) {
		if on {
			f = append(f, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		x := cpu.X86
		add("sse3", x.HasSSE3)
		add("ssse3", x.HasSSSE3)
		add("sse41", x.HasSSE41)
		add("sse42", x.HasSSE42)
		add("popcnt", x.HasPOPCNT)
		add("avx", x.HasAVX)
		add("avx2", x.HasAVX2)
		add("bmi1", x.HasBMI1)
		add("bmi2", x.HasBMI2)
		add("fma", x.HasFMA)
		add("lzcnt", x.HasLZCNT)
		add("avx512f", x.HasAVX512F)
		add("avx512vl", x.HasAVX512VL)
		add("avx512dq", x.HasAVX512DQ)
		add("avx512bw", x.HasAVX512BW)
		add("avx512vbmi", x.HasAVX512VBMI)
	case "arm64":
		a := cpu.ARM64
		add("lse", a.HasATOMICS)
		add("fp16", a.HasFPHP)
		add("pauth", false)
	}
	return strings.Join(f, ",")
}
